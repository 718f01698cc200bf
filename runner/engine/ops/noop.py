"""noop: does nothing and produces nothing. It exercises the queue end to end."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.ops.base import MediaKind, Operation
from runner.engine.ops.params import Param

NOOP = Param(
    name="noop", type="flag", default=None, example="",
    description="No value: the edit runs through the queue and produces nothing.",
)  # fmt: skip


class ImageNoop(Operation):
    op: Literal["noop"] = "noop"
    name: ClassVar[str] = "noop"
    kind: ClassVar[MediaKind] = MediaKind.IMAGE
    syntax: ClassVar[str] = "noop (no value)"
    description: ClassVar[str] = "Does nothing and produces nothing: it exercises the queue."
    example: ClassVar[str] = "noop"
    parameters: ClassVar[tuple[Param, ...]] = (NOOP,)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()


class VideoNoop(ImageNoop):
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
