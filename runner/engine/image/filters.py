"""blur=SIGMA and sharpen=SIGMA: soften the image with a Gaussian blur, or crisp its edges with
an unsharp mask, both of SIGMA pixels (the Gaussian's standard deviation). Sizes are in
pixels of the image at that point of the edit: blur after a resize for a resize-independent
look."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param

MAX_SIGMA_PX = 100.0  # beyond this a blur is a flat colour, and costs seconds on large images
SHARPEN_PERCENT = 150  # how much of the difference from the blur is added back
SHARPEN_THRESHOLD = 3  # differences this small (in 0-255 levels) are left alone: not noise
BLUR = Param(
    name="blur", type="number", minimum=0.1, maximum=MAX_SIGMA_PX, example="4",
    description="The Gaussian's standard deviation, in pixels: larger is softer.",
)  # fmt: skip
SHARPEN = Param(
    name="sharpen", type="number", minimum=0.1, maximum=MAX_SIGMA_PX, example="1.5",
    description=(
        f"The radius of the unsharp mask, in pixels (amount {SHARPEN_PERCENT}%, threshold "
        f"{SHARPEN_THRESHOLD}): around 1 for fine detail, more for broad edges."
    ),
)  # fmt: skip


class Blur(ImageOperation):
    op: Literal["blur"] = "blur"
    name: ClassVar[str] = "blur"
    syntax: ClassVar[str] = f"blur=SIGMA (pixels, 0.1 to {MAX_SIGMA_PX:g})"
    description: ClassVar[str] = "Soften the image with a Gaussian blur."
    example: ClassVar[str] = "blur=4"
    group: ClassVar[Group] = "colour"
    parameters: ClassVar[tuple[Param, ...]] = (BLUR,)
    sigma: float = BLUR.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(sigma=BLUR.read(value))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(lambda frame: engine.blur(frame, self.sigma))


class Sharpen(ImageOperation):
    op: Literal["sharpen"] = "sharpen"
    name: ClassVar[str] = "sharpen"
    syntax: ClassVar[str] = f"sharpen=SIGMA (pixels, 0.1 to {MAX_SIGMA_PX:g})"
    description: ClassVar[str] = "Crisp the edges with an unsharp mask."
    example: ClassVar[str] = "sharpen=1.5"
    group: ClassVar[Group] = "colour"
    parameters: ClassVar[tuple[Param, ...]] = (SHARPEN,)
    sigma: float = SHARPEN.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(sigma=SHARPEN.read(value))

    def apply(self, picture: Picture) -> Picture:
        return picture.map(
            lambda frame: engine.sharpen(
                frame, self.sigma, percent=SHARPEN_PERCENT, threshold=SHARPEN_THRESHOLD
            )
        )
