"""crop=x,y,w,h: keep the w x h rectangle whose top-left corner is at (x, y), in pixels."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import shared_params
from runner.engine.ops.base import Group, Limits, SourceFacts
from runner.engine.ops.params import Param
from service.kernel.errors import EditFailed, InvalidParameter

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
        if max(self.width, self.height) > limits.max_output_side:
            raise InvalidParameter(
                "crop", self._written(), "the crop is larger than any result may be",
                accepted=f"a width and height of at most {limits.max_output_side}",
            )  # fmt: skip

    def output_size(self, size: Size) -> Size:
        if self._outside(size):
            raise EditFailed(f"crop={self._written()} {self._outside(size)}; {_inside(size)}")
        return self.width, self.height

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """A crop outside the picture as uploaded (no operation before it changed its size)
        is refused before it is queued."""
        if facts.width is not None and facts.height is not None:
            size = (facts.width, facts.height)
            if problem := self._outside(size):
                raise InvalidParameter("crop", self._written(), problem, accepted=_inside(size))
        return super().on_source(facts)

    def _outside(self, size: Size) -> str | None:
        width, height = size
        if self.x + self.width > width or self.y + self.height > height:
            return f"reaches outside the {width}x{height} image"
        return None

    def apply(self, picture: Picture) -> Picture:
        self.output_size(picture.size)
        box = (self.x, self.y, self.x + self.width, self.y + self.height)
        return picture.map(lambda frame: engine.crop(frame, box))

    def _written(self) -> str:
        return f"{self.x},{self.y},{self.width},{self.height}"


def _inside(size: Size) -> str:
    return f"keep x + w <= {size[0]} and y + h <= {size[1]}"
