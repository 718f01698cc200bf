"""resize=WxH, Wx or xH: scale the picture; the aspect is kept unless both sides are given."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from runner.engine.ops import grammar
from runner.engine.ops.base import Limits, MediaKind, Operation
from service.kernel.errors import InvalidParameter

SIDE_MAX_PIXELS = 16384  # the largest side any of our encoders takes
SYNTAX = "resize=WxH, Wx or xH in even pixels"


class Resize(Operation):
    """Sides are even because every video encoder here subsamples chroma by two; a side
    computed from the aspect is rounded to the nearest even number."""

    op: Literal["resize"] = "resize"
    name: ClassVar[str] = "resize"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    width: int | None = Field(default=None, ge=2, le=SIDE_MAX_PIXELS, multiple_of=2)
    height: int | None = Field(default=None, ge=2, le=SIDE_MAX_PIXELS, multiple_of=2)

    @model_validator(mode="after")
    def _one_side_at_least(self) -> Self:
        if self.width is None and self.height is None:
            raise ValueError("give a width, a height or both")
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        width, height = grammar.size("resize", value, maximum=SIDE_MAX_PIXELS)
        if any(side is not None and side % 2 for side in (width, height)):
            raise InvalidParameter("resize", value, "a side is odd", accepted=SYNTAX)
        return cls(width=width, height=height)

    def check_limits(self, limits: Limits) -> None:
        largest = max(self.width or 0, self.height or 0)
        if largest > limits.max_output_side:
            raise InvalidParameter(
                "resize", f"{self.width or ''}x{self.height or ''}", "larger than allowed",
                accepted=f"sides of at most {limits.max_output_side} pixels",
            )  # fmt: skip
