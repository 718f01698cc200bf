"""flip=h|v: mirror left to right (h) or top to bottom (v)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Axis, Picture
from runner.engine.ops import grammar

AXES: tuple[Axis, ...] = ("h", "v")


class Flip(ImageOperation):
    op: Literal["flip"] = "flip"
    name: ClassVar[str] = "flip"
    syntax: ClassVar[str] = "flip=h|v (h: left to right, v: top to bottom)"
    axis: Axis

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(axis=grammar.choice("flip", value, AXES))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.flip(frame, self.axis))
