"""concat=ID,ID,...: append other videos, by media id, after this one."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter
from service.kernel.excerpt import excerpt

CONCAT = Param(
    name="concat", type="media", max_length=20, example="0f8fad5b-d9cb-469f-a165-70867728950e",
    description="The ids of the videos to append, comma-separated, in order.",
)  # fmt: skip
SYNTAX = f"concat=ID,ID,... (1 to {CONCAT.max_length} video media ids)"


class Concat(Operation):
    """The others are conformed to what comes before them: picture size, frame rate and
    audio sample rate; one without audio contributes silence."""

    op: Literal["concat"] = "concat"
    name: ClassVar[str] = "concat"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = "Append other videos after this one."
    example: ClassVar[str] = "concat=0f8fad5b-d9cb-469f-a165-70867728950e"
    group: ClassVar[Group] = "cut"
    parameters: ClassVar[tuple[Param, ...]] = (CONCAT,)
    media: tuple[UUID, ...] = Field(min_length=1, max_length=CONCAT.max_length)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        pieces = [piece.strip() for piece in value.split(",")]
        if not 1 <= len(pieces) <= (CONCAT.max_length or 0):
            raise InvalidParameter("concat", value, "wrong number of ids", accepted=SYNTAX)
        return cls(media=tuple(_uuid(piece, value) for piece in pieces))

    def media_references(self) -> tuple[UUID, ...]:
        return self.media


def _uuid(piece: str, value: str) -> UUID:
    try:
        return UUID(piece)
    except ValueError:
        raise InvalidParameter(
            "concat", value, f"{excerpt(piece)!r} is not a media id", accepted=SYNTAX
        ) from None
