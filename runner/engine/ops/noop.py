"""noop: does nothing and produces nothing. It exercises the queue end to end."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.ops.base import MediaKind, Operation


class ImageNoop(Operation):
    op: Literal["noop"] = "noop"
    name: ClassVar[str] = "noop"
    kind: ClassVar[MediaKind] = MediaKind.IMAGE
    syntax: ClassVar[str] = "noop (no value)"

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()


class VideoNoop(ImageNoop):
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
