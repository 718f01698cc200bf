"""frames=best:N: the N best stills of the video, as JPEG images, in time order; the image
operations after it run on each (`frames=best:3&resize=200x`)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

_COUNT = Param(
    name="count", type="integer", minimum=1, maximum=50, example="5",
    description="How many stills, at most.",
)  # fmt: skip
SYNTAX = f"frames=best:N (N from 1 to {_COUNT.maximum:g})"
FRAMES = Param(
    name="frames", type="text", parts=(_COUNT,), example="best:5",
    description="best:N, the N best stills (sharp, well exposed, spread across scenes).",
)  # fmt: skip


class Frames(Operation):
    """Stills are chosen for sharpness and exposure and spread across scenes; black, washed
    out and blurred frames are never chosen, so a video with few good frames gives fewer."""

    op: Literal["frames"] = "frames"
    name: ClassVar[str] = "frames"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = (
        "The best stills of the video, as JPEG images, in time order; image operations after "
        "it (resize, format, ...) run on each."
    )
    example: ClassVar[str] = "frames=best:5"
    group: ClassVar[Group] = "stills"
    produces: ClassVar[MediaKind | None] = MediaKind.IMAGE
    parameters: ClassVar[tuple[Param, ...]] = (FRAMES,)
    count: int = _COUNT.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        how, _, count = value.partition(":")
        if how.strip().lower() != "best" or not count:
            raise InvalidParameter("frames", value, "not best:N", accepted=SYNTAX)
        return cls(count=_COUNT.read_part(count, of="frames", whole=value))

    def query_items(self) -> list[tuple[str, str]]:
        return [(FRAMES.name, f"best:{self.count}")]
