"""opacity=0..1: multiply the image's alpha (opaque if it had none) by the value. Formats
without alpha (JPEG) show the result over white."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param

OPACITY = Param(
    name="opacity", type="number", minimum=0, maximum=1, example="0.5",
    description="The factor the alpha is multiplied by: 0 transparent, 1 unchanged.",
)  # fmt: skip


class Opacity(ImageOperation):
    op: Literal["opacity"] = "opacity"
    name: ClassVar[str] = "opacity"
    syntax: ClassVar[str] = "opacity=0..1 (0 transparent, 1 unchanged)"
    description: ClassVar[str] = (
        "Make the image see-through; formats without alpha show it over white."
    )
    example: ClassVar[str] = "opacity=0.5"
    group: ClassVar[Group] = "colour"
    parameters: ClassVar[tuple[Param, ...]] = (OPACITY,)
    opacity: float = OPACITY.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(opacity=OPACITY.read(value))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.fade(frame, self.opacity))
