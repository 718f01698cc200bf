"""rotate=deg: turn clockwise by any angle (negative turns anticlockwise). Quarter turns are
exact; other angles widen the canvas to hold the whole image, and the uncovered corners are
transparent, or white in formats without alpha (JPEG)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param

MAX_DEGREES = 360
ROTATE = Param(
    name="rotate", type="number", minimum=-MAX_DEGREES, maximum=MAX_DEGREES, example="90",
    description="Degrees clockwise (negative: anticlockwise); quarter turns are exact.",
)  # fmt: skip


class Rotate(ImageOperation):
    op: Literal["rotate"] = "rotate"
    name: ClassVar[str] = "rotate"
    syntax: ClassVar[str] = "rotate=DEGREES, clockwise, -360 to 360 (e.g. 90, -45, 12.5)"
    description: ClassVar[str] = (
        "Turn clockwise by any angle; other than quarter turns widen the canvas, with "
        "transparent (or white) corners."
    )
    example: ClassVar[str] = "rotate=90"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (ROTATE,)
    degrees: float = ROTATE.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(degrees=ROTATE.read(value))

    def output_size(self, size: Size) -> Size:
        return engine.turned_size(size, self.degrees)

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.rotate(frame, self.degrees))
