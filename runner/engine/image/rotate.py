"""rotate=deg: turn clockwise by any angle (negative turns anticlockwise). Quarter turns are
exact; other angles widen the canvas to hold the whole image, and the uncovered corners are
transparent, or white in formats without alpha (JPEG)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import grammar

MAX_DEGREES = 360


class Rotate(ImageOperation):
    op: Literal["rotate"] = "rotate"
    name: ClassVar[str] = "rotate"
    syntax: ClassVar[str] = "rotate=DEGREES, clockwise, -360 to 360 (e.g. 90, -45, 12.5)"
    degrees: float = Field(ge=-MAX_DEGREES, le=MAX_DEGREES, allow_inf_nan=False)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(
            degrees=grammar.number("rotate", value, minimum=-MAX_DEGREES, maximum=MAX_DEGREES)
        )

    def output_size(self, size: Size) -> Size:
        return engine.turned_size(size, self.degrees)

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.rotate(frame, self.degrees))
