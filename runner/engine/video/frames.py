"""frames=best:N: the N best stills of the video, as JPEG images, in time order."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.ops import grammar
from runner.engine.ops.base import MediaKind, Operation
from service.kernel.errors import InvalidParameter

MAX_STILLS = 50
SYNTAX = f"frames=best:N (N from 1 to {MAX_STILLS})"


class Frames(Operation):
    """Stills are chosen for sharpness and exposure and spread across scenes; black, washed
    out and blurred frames are never chosen, so a video with few good frames gives fewer."""

    op: Literal["frames"] = "frames"
    name: ClassVar[str] = "frames"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    terminal: ClassVar[bool] = True
    count: int = Field(ge=1, le=MAX_STILLS)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        how, _, count = value.partition(":")
        if how.strip().lower() != "best" or not count:
            raise InvalidParameter("frames", value, "not best:N", accepted=SYNTAX)
        return cls(count=grammar.integer("frames", count, minimum=1, maximum=MAX_STILLS))
