"""opacity=0..1: multiply the image's alpha (opaque if it had none) by the value. Formats
without alpha (JPEG) show the result over white."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture
from runner.engine.ops import grammar


class Opacity(ImageOperation):
    op: Literal["opacity"] = "opacity"
    name: ClassVar[str] = "opacity"
    syntax: ClassVar[str] = "opacity=0..1 (0 transparent, 1 unchanged)"
    opacity: float = Field(ge=0, le=1)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(opacity=grammar.number("opacity", value, minimum=0, maximum=1))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.fade(frame, self.opacity))
