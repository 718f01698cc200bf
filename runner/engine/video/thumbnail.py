"""thumbnail=T: one still, the frame shown at time T, as a JPEG image unless the image
operations after it say otherwise (`thumbnail=2&resize=320x&format=webp`)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.ops.base import Group, Limits, MediaKind, Operation
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

THUMBNAIL = Param(
    name="thumbnail", type="time", default=0.0, minimum=0, limit="max_video_seconds",
    example="2.5", description="When the still is taken: seconds (12.5) or [hh:]mm:ss[.fff].",
)  # fmt: skip


class Thumbnail(Operation):
    op: Literal["thumbnail"] = "thumbnail"
    name: ClassVar[str] = "thumbnail"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "thumbnail=T (seconds or [hh:]mm:ss.fff)"
    description: ClassVar[str] = (
        "One still, the frame shown at a time, as a JPEG image; image operations after it "
        "(resize, format, ...) run on it."
    )
    example: ClassVar[str] = "thumbnail=2.5"
    group: ClassVar[Group] = "stills"
    produces: ClassVar[MediaKind | None] = MediaKind.IMAGE
    parameters: ClassVar[tuple[Param, ...]] = (THUMBNAIL,)
    at: float = THUMBNAIL.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(at=THUMBNAIL.read(value or "0"))

    def check_limits(self, limits: Limits) -> None:
        if self.at >= limits.max_video_seconds:
            raise InvalidParameter(
                "thumbnail", f"{self.at:g}", "after the longest video allowed",
                accepted=f"a time under {limits.max_video_seconds:g} seconds",
            )  # fmt: skip
