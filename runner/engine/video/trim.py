"""trim=START,END: keep that part of the video. END may be left out (to the end)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import model_validator

from runner.engine.ops.base import Group, Limits, MediaKind, Operation, SourceFacts
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

SYNTAX = "trim=START,END or trim=START (seconds or [hh:]mm:ss.fff), with accurate=true|false"
_START = Param(
    name="start", type="time", minimum=0, limit="max_video_seconds", example="1.5",
    description="Where the kept part starts.",
)  # fmt: skip
_END = Param(
    name="end", type="time", default=None, minimum=0, example="00:00:04.000",
    description="Where it ends, after START; left out, the end of the video.",
)  # fmt: skip
TRIM = Param(
    name="trim", type="times", parts=(_START, _END), example="1.5,4",
    description="START,END or START: seconds (12.5) or [hh:]mm:ss[.fff].",
)  # fmt: skip
ACCURATE = Param(
    name="accurate", type="boolean", default=True, example="false",
    description=(
        "true cuts on the exact frames (re-encoding only the first partial group of pictures); "
        "false starts on the keyframe at or before START and copies every packet."
    ),
)  # fmt: skip


class Trim(Operation):
    """`accurate=true` (the default) cuts on the exact frames, re-encoding only the partial
    group of pictures at the start (a smart cut); `accurate=false` starts on the keyframe at
    or before START and copies every packet."""

    op: Literal["trim"] = "trim"
    name: ClassVar[str] = "trim"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = "Keep one part of the video."
    example: ClassVar[str] = "trim=1.5,4&accurate=true"
    group: ClassVar[Group] = "cut"
    parameters: ClassVar[tuple[Param, ...]] = (TRIM, ACCURATE)
    start: float = _START.field()
    end: float | None = _END.field()
    accurate: bool = ACCURATE.field()

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end is not None and self.end <= self.start:
            raise ValueError("END must come after START")
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        start_text, _, end_text = value.partition(",")
        start = _START.read_part(start_text, of="trim", whole=value)
        end = _END.read_part(end_text, of="trim", whole=value) if end_text.strip() else None
        if end is not None and end <= start:
            raise InvalidParameter("trim", value, "END must come after START", accepted=SYNTAX)
        return cls(start=start, end=end, accurate=ACCURATE.modifier(modifiers))

    def past_the_end(self, duration: float) -> str | None:
        """Why it keeps nothing of a video of `duration` seconds ("starts at 12.5 s, after
        the end of the 5 s video"), or None when it keeps some."""
        if self.start < duration:
            return None
        where = "at" if self.start == duration else "after"
        return f"starts at {self.start:g} s, {where} the end of the {_seconds(duration)} s video"

    def on_source(self, facts: SourceFacts) -> SourceFacts:
        """A trim that starts at or after the source's end (and is the first operation to
        change the duration) is refused before it is queued."""
        duration = facts.duration_seconds
        if duration is not None and (problem := self.past_the_end(duration)):
            raise InvalidParameter(
                "trim", self.written_value(), problem,
                accepted=f"a START before {_seconds(duration)} s, the end of the video",
            )  # fmt: skip
        return super().on_source(facts)

    def check_limits(self, limits: Limits) -> None:
        if self.start >= limits.max_video_seconds:
            raise InvalidParameter(
                "trim", f"{self.start:g}", "starts after the longest video allowed",
                accepted=f"a START under {limits.max_video_seconds:g} seconds",
            )  # fmt: skip


def _seconds(duration: float) -> str:
    """A duration as a person reads it, to the millisecond: 5, 9.96, 2.958."""
    return f"{round(duration, 3):g}"
