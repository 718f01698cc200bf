"""resize=WxH (either side may be empty), with fit=contain|cover|fill and upscale=true|false.

contain fits the image inside the box, keeping its proportions; cover fills the box and crops
what overflows, keeping the centre; fill stretches to the box. With one side given, the other
follows the proportions. Unless upscale=true, nothing is enlarged: a box that would need
enlarging is shrunk, keeping its proportions, until it does not."""

from collections.abc import Mapping
from math import ceil
from typing import ClassVar, Literal, Self

from pydantic import model_validator

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import WHOLE, Picture, Region, Size
from runner.engine.ops.base import Group, Limits
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

Fit = Literal["contain", "cover", "fill"]
MAX_SIDE_PX = 1_000_000  # what the grammar reads; the configured output limit is checked after
RESIZE = Param(
    name="resize", type="size", minimum=1, maximum=MAX_SIDE_PX, limit="max_output_side",
    example="800x600",
    description="The box to scale to, in pixels: WxH, or Wx or xH to keep the proportions.",
)  # fmt: skip
FIT = Param(
    name="fit", type="choice", choices=("contain", "cover", "fill"), default="contain",
    example="cover",
    description=(
        "contain fits inside the box, cover fills it and crops the overflow around the "
        "centre, fill stretches to it."
    ),
)  # fmt: skip
UPSCALE = Param(
    name="upscale", type="boolean", default=False, example="true",
    description="Allow enlarging; without it, a box that would enlarge shrinks until it does not.",
)  # fmt: skip


class Resize(ImageOperation):
    op: Literal["resize"] = "resize"
    name: ClassVar[str] = "resize"
    syntax: ClassVar[str] = "resize=WxH, Wx or xH (pixels), with fit=contain|cover|fill, upscale"
    description: ClassVar[str] = "Scale to a box, keeping the proportions unless fit=fill."
    example: ClassVar[str] = "resize=800x&fit=cover"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (RESIZE, FIT, UPSCALE)
    width: int | None = RESIZE.field(optional=True)
    height: int | None = RESIZE.field(optional=True)
    fit: Fit = FIT.field()
    upscale: bool = UPSCALE.field()

    @model_validator(mode="after")
    def _a_side_is_given(self) -> Self:
        if self.width is None and self.height is None:
            raise ValueError("give a width, a height or both")
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        width, height = RESIZE.read(value)
        fit, upscale = FIT.modifier(modifiers), UPSCALE.modifier(modifiers)
        return cls(width=width, height=height, fit=fit, upscale=upscale)

    def check_limits(self, limits: Limits) -> None:
        if max(self.width or 0, self.height or 0) > limits.max_output_side:
            written = f"{self.width or ''}x{self.height or ''}"
            raise InvalidParameter(
                "resize", written, "larger than any result may be",
                accepted=f"WxH, Wx or xH with sides of at most {limits.max_output_side}",
            )  # fmt: skip

    def output_size(self, size: Size) -> Size:
        return self._plan(size)[0]

    def draft_size(self, size: Size) -> Size | None:
        """A source size whose region still holds every pixel of the result."""
        (width, height), (left, top, right, bottom) = self._plan(size)
        needed = (ceil(width / (right - left)), ceil(height / (bottom - top)))
        return needed if needed[0] < size[0] and needed[1] < size[1] else None

    def apply(self, picture: Picture) -> Picture:
        size, region = self._plan(picture.nominal_size)
        return picture.map(lambda frame: engine.resize(frame, size, region=region))

    def _plan(self, size: Size) -> tuple[Size, Region]:
        """The result's size, and the region of the source that goes into it."""
        if self.width is None or self.height is None or self.fit == "contain":
            return _scaled(size, self._contain_scale(size)), WHOLE
        box = self._box(size)
        if self.fit == "fill":
            return box, WHOLE
        return box, _centred_region(size, box)

    def _contain_scale(self, size: Size) -> float:
        scales = [
            wanted / side for wanted, side in zip((self.width, self.height), size, strict=True)
            if wanted is not None
        ]  # fmt: skip
        scale = min(scales)
        return scale if self.upscale else min(scale, 1.0)

    def _box(self, size: Size) -> Size:
        """The width x height box, shrunk (keeping its proportions) so that covering it
        enlarges nothing, unless upscale."""
        width, height = self.width or size[0], self.height or size[1]
        enlargement = max(width / size[0], height / size[1])
        shrink = 1.0 if self.upscale else max(enlargement, 1.0)
        return _at_least_one(width / shrink, height / shrink)


def _scaled(size: Size, scale: float) -> Size:
    return _at_least_one(size[0] * scale, size[1] * scale)


def _at_least_one(width: float, height: float) -> Size:
    return max(1, round(width)), max(1, round(height))


def _centred_region(size: Size, box: Size) -> Region:
    """The centre of the source with the box's proportions, as fractions of its sides. Each
    share is a ratio of whole numbers capped at 1, and the region is symmetric by
    construction, so rounding never puts an edge outside the source."""
    width_share = min(box[0] * size[1] / (box[1] * size[0]), 1.0)
    height_share = min(box[1] * size[0] / (box[0] * size[1]), 1.0)
    left, top = (1 - width_share) / 2, (1 - height_share) / 2
    return (left, top, 1 - left, 1 - top)
