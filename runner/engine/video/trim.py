"""trim=START,END: keep that part of the video. END may be left out (to the end)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import model_validator

from runner.engine.ops import grammar
from runner.engine.ops.base import Limits, MediaKind, Operation
from service.kernel.errors import InvalidParameter

SYNTAX = "trim=START,END or trim=START (seconds or [hh:]mm:ss.fff), with accurate=true|false"


class Trim(Operation):
    """`accurate=true` (the default) cuts on the exact frames, re-encoding only the partial
    group of pictures at the start (a smart cut); `accurate=false` starts on the keyframe at
    or before START and copies every packet."""

    op: Literal["trim"] = "trim"
    name: ClassVar[str] = "trim"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    modifiers: ClassVar[tuple[str, ...]] = ("accurate",)
    start: float
    end: float | None = None
    accurate: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.start < 0 or (self.end is not None and self.end <= self.start):
            raise ValueError("END must come after START, and START must not be negative")
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        start_text, _, end_text = value.partition(",")
        start = grammar.seconds("trim", start_text)
        end = grammar.seconds("trim", end_text) if end_text.strip() else None
        if end is not None and end <= start:
            raise InvalidParameter("trim", value, "END must come after START", accepted=SYNTAX)
        accurate = grammar.boolean("accurate", modifiers.get("accurate", "true"))
        return cls(start=start, end=end, accurate=accurate)

    def check_limits(self, limits: Limits) -> None:
        if self.start >= limits.max_video_seconds:
            raise InvalidParameter(
                "trim", f"{self.start:g}", "starts after the longest video allowed",
                accepted=f"a START under {limits.max_video_seconds:g} seconds",
            )  # fmt: skip
