"""flip=h|v: mirror left to right (h) or top to bottom (v)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Axis, Picture
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param

FLIP = Param(
    name="flip", type="choice", choices=("h", "v"), example="h",
    description="h mirrors left to right, v top to bottom.",
)  # fmt: skip


class Flip(ImageOperation):
    op: Literal["flip"] = "flip"
    name: ClassVar[str] = "flip"
    syntax: ClassVar[str] = "flip=h|v (h: left to right, v: top to bottom)"
    description: ClassVar[str] = "Mirror the image."
    example: ClassVar[str] = "flip=h"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (FLIP,)
    axis: Axis = FLIP.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(axis=FLIP.read(value))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.flip(frame, self.axis))
