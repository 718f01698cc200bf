"""resize=WxH, Wx or xH: scale the picture; the aspect is kept unless both sides are given."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import model_validator

from runner.engine.ops.base import Group, Limits, MediaKind, Operation
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

SYNTAX = "resize=WxH, Wx or xH in even pixels"
RESIZE = Param(
    # 16384: the largest side any of our encoders takes
    name="resize", type="size", minimum=2, maximum=16384, multiple_of=2,
    limit="max_output_side", example="1280x720",
    description="The new size in even pixels: WxH, or Wx or xH to keep the aspect.",
)  # fmt: skip


class Resize(Operation):
    """Sides are even because every video encoder here subsamples chroma by two; a side
    computed from the aspect is rounded to the nearest even number."""

    op: Literal["resize"] = "resize"
    name: ClassVar[str] = "resize"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = (
        "Scale the picture; the aspect is kept unless both sides are given."
    )
    example: ClassVar[str] = "resize=1280x"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (RESIZE,)
    width: int | None = RESIZE.field(optional=True)
    height: int | None = RESIZE.field(optional=True)

    @model_validator(mode="after")
    def _one_side_at_least(self) -> Self:
        if self.width is None and self.height is None:
            raise ValueError("give a width, a height or both")
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        width, height = RESIZE.read(value)
        if any(side is not None and side % 2 for side in (width, height)):
            raise InvalidParameter("resize", value, "a side is odd", accepted=SYNTAX)
        return cls(width=width, height=height)

    def check_limits(self, limits: Limits) -> None:
        written = f"{self.width or ''}x{self.height or ''}"
        limits.check_sides("resize", written, width=self.width, height=self.height)
        if self.width and self.height and self.width * self.height > limits.max_pixels:
            raise InvalidParameter(
                "resize", written,
                f"frames of {self.width * self.height:,} pixels, over the limit of "
                f"{limits.max_pixels:,} (EDITROOM_MAX_PIXELS)",
                accepted=f"a size of at most {limits.max_pixels:,} pixels a frame",
            )  # fmt: skip
