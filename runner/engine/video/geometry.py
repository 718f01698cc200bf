"""crop=x,y,w,h, rotate=90|180|270 and flip=h|v: change the picture's frames. Each works on
the upright picture as the operations before it left it, and forces the video to be
re-encoded (the result is upright: no rotation metadata is written)."""

from collections.abc import Mapping
from dataclasses import replace
from typing import ClassVar, Literal, Self

from runner.engine.ops import crop_operation
from runner.engine.ops.base import Group, MediaKind, Operation, SourceFacts
from runner.engine.ops.params import Param

Shape = tuple[int, int]  # width, height in pixels
_RECTANGLE = crop_operation.rectangle(
    example=(16, 8, 640, 360), min_side=2,
    description="The rectangle of the picture to keep: x,y,w,h in pixels.",
)  # fmt: skip
ROTATE = Param(
    name="rotate", type="choice", choices=("90", "180", "270"), example="90",
    description="Quarter turns clockwise.",
)  # fmt: skip
FLIP = Param(
    name="flip", type="choice", choices=("h", "v"), example="h",
    description="h mirrors left to right, v top to bottom.",
)  # fmt: skip
_QUARTERS: dict[str, Literal[90, 180, 270]] = {"90": 90, "180": 180, "270": 270}
_TURNS = {90: ["transpose=clock"], 180: ["hflip", "vflip"], 270: ["transpose=cclock"]}


class _Geometry(Operation):
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    group: ClassVar[Group] = "geometry"

    def filters(self, shape: Shape) -> tuple[list[str], Shape]:
        """The FFmpeg filters for frames of `shape`, and the shape they make."""
        raise NotImplementedError

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """The duration is kept; the picture's size (as displayed, as the media row and the
        plan's `base` both say it) is what the filters make of it: a crop its rectangle, a
        quarter turn the sides swapped, a flip the same."""
        kept = super().on_source(facts)
        if facts.width is None or facts.height is None:
            return kept
        _, (width, height) = self.filters((facts.width, facts.height))
        return replace(kept, width=width, height=height)


class Crop(crop_operation.CropOperation, _Geometry):
    description: ClassVar[str] = "Keep one rectangle of the picture."
    example: ClassVar[str] = "crop=16,8,640,360"
    rectangle: ClassVar[crop_operation.Rectangle] = _RECTANGLE
    parameters: ClassVar[tuple[Param, ...]] = (_RECTANGLE.whole,)
    x: int = _RECTANGLE.x.field()
    y: int = _RECTANGLE.y.field()
    width: int = _RECTANGLE.width.field()
    height: int = _RECTANGLE.height.field()

    def filters(self, shape: Shape) -> tuple[list[str], Shape]:
        self.check_inside(shape)
        return [f"crop={self.width}:{self.height}:{self.x}:{self.y}"], (self.width, self.height)


class Rotate(_Geometry):
    op: Literal["rotate"] = "rotate"
    name: ClassVar[str] = "rotate"
    syntax: ClassVar[str] = "rotate=90|180|270 (degrees clockwise)"
    description: ClassVar[str] = "Turn the picture by quarter turns clockwise."
    example: ClassVar[str] = "rotate=90"
    parameters: ClassVar[tuple[Param, ...]] = (ROTATE,)
    degrees: Literal[90, 180, 270] = ROTATE.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(degrees=_QUARTERS[ROTATE.read(value)])

    def filters(self, shape: Shape) -> tuple[list[str], Shape]:
        turned = (shape[1], shape[0]) if self.degrees != 180 else shape
        return list(_TURNS[self.degrees]), turned


class Flip(_Geometry):
    op: Literal["flip"] = "flip"
    name: ClassVar[str] = "flip"
    syntax: ClassVar[str] = "flip=h|v (h: left to right, v: top to bottom)"
    description: ClassVar[str] = "Mirror the picture."
    example: ClassVar[str] = "flip=h"
    parameters: ClassVar[tuple[Param, ...]] = (FLIP,)
    axis: Literal["h", "v"] = FLIP.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(axis=FLIP.read(value))

    def filters(self, shape: Shape) -> tuple[list[str], Shape]:
        return ["hflip" if self.axis == "h" else "vflip"], shape


GEOMETRY: tuple[type[_Geometry], ...] = (Crop, Rotate, Flip)
Geometry = _Geometry
