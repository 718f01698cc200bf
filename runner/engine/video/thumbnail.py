"""thumbnail=T: one still, the frame shown at time T, as a JPEG image."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.ops import grammar
from runner.engine.ops.base import Limits, MediaKind, Operation
from service.kernel.errors import InvalidParameter


class Thumbnail(Operation):
    op: Literal["thumbnail"] = "thumbnail"
    name: ClassVar[str] = "thumbnail"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "thumbnail=T (seconds or [hh:]mm:ss.fff)"
    terminal: ClassVar[bool] = True
    at: float = Field(ge=0)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(at=grammar.seconds("thumbnail", value or "0"))

    def check_limits(self, limits: Limits) -> None:
        if self.at >= limits.max_video_seconds:
            raise InvalidParameter(
                "thumbnail", f"{self.at:g}", "after the longest video allowed",
                accepted=f"a time under {limits.max_video_seconds:g} seconds",
            )  # fmt: skip
