"""crop=x,y,w,h: keep the w x h rectangle whose top-left corner is at (x, y), in pixels."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import shared_params
from runner.engine.ops.base import Group, Limits, SourceFacts
from runner.engine.ops.params import Param
from service.kernel.errors import EditFailed

_RECTANGLE = shared_params.rectangle(
    example=(10, 20, 300, 200), min_side=1,
    description="The rectangle to keep: x,y,w,h in pixels (left, top, width, height).",
)  # fmt: skip
CROP = _RECTANGLE.whole
_X, _Y, _WIDTH, _HEIGHT = _RECTANGLE.x, _RECTANGLE.y, _RECTANGLE.width, _RECTANGLE.height


class Crop(ImageOperation):
    op: Literal["crop"] = "crop"
    name: ClassVar[str] = "crop"
    syntax: ClassVar[str] = "crop=x,y,w,h (pixels: left, top, width, height)"
    description: ClassVar[str] = "Keep one rectangle of the image."
    example: ClassVar[str] = "crop=10,20,300,200"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (CROP,)
    x: int = _X.field()
    y: int = _Y.field()
    width: int = _WIDTH.field()
    height: int = _HEIGHT.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        x, y, width, height = _RECTANGLE.read(value, syntax=cls.syntax)
        return cls(x=x, y=y, width=width, height=height)

    def check_limits(self, limits: Limits) -> None:
        limits.check_sides("crop", self._written(), width=self.width, height=self.height)

    def output_size(self, size: Size) -> Size:
        if refusal := shared_params.crop_outside(self._box(), size):
            raise EditFailed(str(refusal))
        return self.width, self.height

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """A crop outside the picture as uploaded (no operation before it changed its size)
        is refused before it is queued."""
        shared_params.check_crop_fits(self._box(), facts)
        return super().on_source(facts)

    def apply(self, picture: Picture) -> Picture:
        self.output_size(picture.size)
        box = (self.x, self.y, self.x + self.width, self.y + self.height)
        return picture.map(lambda frame: engine.crop(frame, box))

    def _box(self) -> shared_params.Box:
        return self.x, self.y, self.width, self.height

    def _written(self) -> str:
        return shared_params.written_box(self._box())
