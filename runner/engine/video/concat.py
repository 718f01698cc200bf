"""concat=ID,ID,...: append other videos, by media id, after this one."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self
from uuid import UUID

from pydantic import Field

from runner.engine.ops.base import MediaKind, Operation
from service.kernel.errors import InvalidParameter

MAX_VIDEOS = 20  # appended in one operation
SYNTAX = f"concat=ID,ID,... (1 to {MAX_VIDEOS} video media ids)"


class Concat(Operation):
    """The others are conformed to what comes before them: picture size, frame rate and
    audio sample rate; one without audio contributes silence."""

    op: Literal["concat"] = "concat"
    name: ClassVar[str] = "concat"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    media: tuple[UUID, ...] = Field(min_length=1, max_length=MAX_VIDEOS)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        pieces = [piece.strip() for piece in value.split(",")]
        if not 1 <= len(pieces) <= MAX_VIDEOS:
            raise InvalidParameter("concat", value, "wrong number of ids", accepted=SYNTAX)
        return cls(media=tuple(_uuid(piece, value) for piece in pieces))

    def media_references(self) -> tuple[UUID, ...]:
        return self.media


def _uuid(piece: str, value: str) -> UUID:
    try:
        return UUID(piece)
    except ValueError:
        raise InvalidParameter(
            "concat", value, f"{piece!r} is not a media id", accepted=SYNTAX
        ) from None
