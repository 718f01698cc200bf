"""resize=WxH (either side may be empty), with fit=contain|cover|fill|pad, upscale=true|false,
gravity, background and dpr.

contain fits the image inside the box, keeping its proportions; cover fills the box and crops
what overflows, keeping the part gravity says (the centre by default); fill stretches to the
box; pad fits the image inside the box and fills the rest with `background`, the image placed
by gravity. With one side given, the other follows the proportions. Unless upscale=true,
nothing is enlarged: a box that would need enlarging is shrunk, keeping its proportions, until
it does not (fit=pad keeps its whole box and pads more instead). dpr multiplies the box's
sides first (resize=400x300&dpr=2 makes at most 800x600)."""

from collections.abc import Mapping
from math import ceil
from typing import ClassVar, Literal, Self

from pydantic import field_validator

from runner.engine.draw import COLOUR_SYNTAX
from runner.engine.image import engine, gravity
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import WHOLE, Picture, Region, Size
from runner.engine.ops.base import Limits
from runner.engine.ops.params import HexColour, Param
from runner.engine.ops.resize_operation import ResizeOperation
from service.kernel.errors import InvalidParameter

Fit = Literal["contain", "cover", "fill", "pad"]
MAX_SIDE_PX = 1_000_000  # what the grammar reads; the configured output limit is checked after
RESIZE = Param(
    name="resize", type="size", minimum=1, maximum=MAX_SIDE_PX, limit="max_output_side",
    example="800x600",
    description="The box to scale to, in pixels: WxH, or Wx or xH to keep the proportions.",
)  # fmt: skip
FIT = Param(
    name="fit", type="choice", choices=("contain", "cover", "fill", "pad"), default="contain",
    example="cover",
    description=(
        "contain fits inside the box, cover fills it and crops the overflow (keeping what "
        "gravity says), fill stretches to it, pad fits inside it and fills the rest with "
        "background."
    ),
)  # fmt: skip
GRAVITY = gravity.gravity_param(
    "gravity", default="center",
    description="With fit=cover, the part kept; with fit=pad, where the image sits",
)  # fmt: skip
BACKGROUND = Param(
    name="background", type="colour", default="white", example="%23000000",
    description=f"With fit=pad, the colour around the image: {COLOUR_SYNTAX}; 0000 is transparent.",
)  # fmt: skip
DPR = Param(
    name="dpr", type="number", default=1.0, minimum=1, maximum=4, example="2",
    description="Device pixel ratio: multiplies the box's sides (within max_output_side).",
)  # fmt: skip
UPSCALE = Param(
    name="upscale", type="boolean", default=False, example="true",
    description="Allow enlarging; without it, a box that would enlarge shrinks until it does not.",
)  # fmt: skip


class Resize(ResizeOperation, ImageOperation):
    syntax: ClassVar[str] = (
        "resize=WxH, Wx or xH (pixels), with fit=contain|cover|fill|pad, upscale, gravity, "
        "background, dpr=1..4"
    )
    description: ClassVar[str] = "Scale to a box, keeping the proportions unless fit=fill."
    example: ClassVar[str] = "resize=800x&fit=cover"
    size_param: ClassVar[Param] = RESIZE
    parameters: ClassVar[tuple[Param, ...]] = (RESIZE, FIT, UPSCALE, GRAVITY, BACKGROUND, DPR)
    width: int | None = RESIZE.field(optional=True)
    height: int | None = RESIZE.field(optional=True)
    fit: Fit = FIT.field()
    upscale: bool = UPSCALE.field()
    gravity: str = GRAVITY.field()
    background: HexColour = BACKGROUND.field(validate_default=True)
    dpr: float = DPR.field()

    @field_validator("gravity")
    @classmethod
    def _a_gravity(cls, value: str) -> str:
        return gravity.check(value)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        width, height = cls.read_sides(value)
        fit, upscale = FIT.modifier(modifiers), UPSCALE.modifier(modifiers)
        where = gravity.read("gravity", modifiers.get("gravity", GRAVITY.default))
        background = BACKGROUND.modifier(modifiers)
        return cls(
            width=width, height=height, fit=fit, upscale=upscale, gravity=where,
            background=background, dpr=DPR.modifier(modifiers),
        )  # fmt: skip

    def check_limits(self, limits: Limits) -> None:
        super().check_limits(limits)
        if max(self.width or 0, self.height or 0) * self.dpr > limits.max_output_side:
            raise InvalidParameter(
                "dpr", f"{self.dpr:g}",
                f"resize={self.written_value()} at this ratio is larger than any result may be",
                accepted=f"a dpr keeping each side at most {limits.max_output_side}",
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
        if self._padded():
            return self._pad(picture, size)
        if self.fit == "cover" and region != WHOLE:
            share = (region[2] - region[0], region[3] - region[1])
            at = gravity.fixed_focus(self.gravity) or gravity.focus(
                self.gravity, picture.first, share
            )
            region = gravity.region(share, at)
        return picture.map(lambda frame: engine.resize(frame, size, region=region))

    def _pad(self, picture: Picture, size: Size) -> Picture:
        scaled = _scaled(picture.nominal_size, self._contain_scale(picture.nominal_size))
        at = gravity.fixed_focus(self.gravity) or (0.5, 0.5)  # nothing is cut: no detail to find
        offset = (gravity.placed(size[0] - scaled[0], at[0]),
                  gravity.placed(size[1] - scaled[1], at[1]))  # fmt: skip
        background = engine.colour(self.background)
        assert background is not None  # validated
        return picture.map(
            lambda frame: engine.on_canvas(
                engine.resize(frame, scaled), size, at=offset, background=background
            )
        )

    def _plan(self, size: Size) -> tuple[Size, Region]:
        """The result's size, and the region of the source that goes into it (centred: a
        gravity moves it, keeping its size)."""
        if self._padded():
            return self._sides(), WHOLE
        if self.width is None or self.height is None or self.fit == "contain":
            return _scaled(size, self._contain_scale(size)), WHOLE
        box = self._box(size)
        if self.fit == "fill":
            return box, WHOLE
        return box, _centred_region(size, box)

    def _padded(self) -> bool:
        return self.fit == "pad" and self.width is not None and self.height is not None

    def _sides(self) -> Size:
        width, height = self._wanted()
        assert width is not None
        assert height is not None
        return _at_least_one(width, height)

    def _wanted(self) -> tuple[float | None, float | None]:
        """The sides asked for, times dpr."""
        width = None if self.width is None else self.width * self.dpr
        height = None if self.height is None else self.height * self.dpr
        return width, height

    def _contain_scale(self, size: Size) -> float:
        scales = [
            wanted / side for wanted, side in zip(self._wanted(), size, strict=True)
            if wanted is not None
        ]  # fmt: skip
        scale = min(scales)
        return scale if self.upscale else min(scale, 1.0)

    def _box(self, size: Size) -> Size:
        """The width x height box, shrunk (keeping its proportions) so that covering it
        enlarges nothing, unless upscale."""
        wanted = self._wanted()
        width, height = wanted[0] or size[0], wanted[1] or size[1]
        enlargement = max(width / size[0], height / size[1])
        shrink = 1.0 if self.upscale else max(enlargement, 1.0)
        return _at_least_one(width / shrink, height / shrink)


def _scaled(size: Size, scale: float) -> Size:
    return _at_least_one(size[0] * scale, size[1] * scale)


def _at_least_one(width: float, height: float) -> Size:
    return max(1, round(width)), max(1, round(height))


def _centred_region(size: Size, box: Size) -> Region:
    """The centre of the source with the box's proportions, as fractions of its sides (a
    gravity moves it later, keeping its size). Each share is a ratio of whole numbers capped at
    1, so rounding never makes the region larger than the source."""
    width_share = min(box[0] * size[1] / (box[1] * size[0]), 1.0)
    height_share = min(box[1] * size[0] / (box[0] * size[1]), 1.0)
    return gravity.region((width_share, height_share), gravity.CENTER)
