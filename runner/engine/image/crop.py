"""crop=x,y,w,h: keep the w x h rectangle whose top-left corner is at (x, y), in pixels."""

from typing import ClassVar

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops import crop_operation
from runner.engine.ops.params import Param

_RECTANGLE = crop_operation.rectangle(
    example=(10, 20, 300, 200), min_side=1,
    description="The rectangle to keep: x,y,w,h in pixels (left, top, width, height).",
)  # fmt: skip


class Crop(crop_operation.CropOperation, ImageOperation):
    description: ClassVar[str] = "Keep one rectangle of the image."
    example: ClassVar[str] = "crop=10,20,300,200"
    rectangle: ClassVar[crop_operation.Rectangle] = _RECTANGLE
    parameters: ClassVar[tuple[Param, ...]] = (_RECTANGLE.whole,)
    x: int = _RECTANGLE.x.field()
    y: int = _RECTANGLE.y.field()
    width: int = _RECTANGLE.width.field()
    height: int = _RECTANGLE.height.field()

    def output_size(self, size: Size) -> Size:
        self.check_inside(size)
        return self.width, self.height

    def apply(self, picture: Picture) -> Picture:
        self.output_size(picture.size)
        box = (self.x, self.y, self.x + self.width, self.y + self.height)
        return picture.map(lambda frame: engine.crop(frame, box))
