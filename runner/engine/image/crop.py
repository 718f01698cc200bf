"""crop=x,y,w,h: keep the w x h rectangle whose top-left corner is at (x, y), in pixels."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import grammar
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed, InvalidParameter


class Crop(ImageOperation):
    op: Literal["crop"] = "crop"
    name: ClassVar[str] = "crop"
    syntax: ClassVar[str] = "crop=x,y,w,h (pixels: left, top, width, height)"
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    width: int = Field(ge=1)
    height: int = Field(ge=1)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        x, y, w, h = grammar.parts("crop", value, 4, syntax=cls.syntax)
        return cls(
            x=grammar.integer("crop", x, minimum=0),
            y=grammar.integer("crop", y, minimum=0),
            width=grammar.integer("crop", w, minimum=1),
            height=grammar.integer("crop", h, minimum=1),
        )

    def check_limits(self, limits: Limits) -> None:
        if max(self.width, self.height) > limits.max_output_side:
            raise InvalidParameter(
                "crop", self._written(), "the crop is larger than any result may be",
                accepted=f"a width and height of at most {limits.max_output_side}",
            )  # fmt: skip

    def output_size(self, size: Size) -> Size:
        width, height = size
        if self.x + self.width > width or self.y + self.height > height:
            raise EditFailed(
                f"crop={self._written()} reaches outside the {width}x{height} image; "
                f"keep x + w <= {width} and y + h <= {height}"
            )
        return self.width, self.height

    def apply(self, picture: Picture) -> Picture:
        self.output_size(picture.size)
        box = (self.x, self.y, self.x + self.width, self.y + self.height)
        return picture.map(lambda frame: engine.crop(frame, box))

    def _written(self) -> str:
        return f"{self.x},{self.y},{self.width},{self.height}"
