"""Sound alone: what audio=extract makes is stored as video media without a picture (no video
codec, no width or height). Every video operation works on the picture, so an edit that would
read one, as its source or as media an operation names (concat), cannot succeed: every way of
making edits asks here, and refuses it before anything is queued, rather than let the edit
fail when it runs."""

from uuid import UUID

from runner.engine.ops.base import MediaKind
from service.kernel.db import Row
from service.kernel.errors import InvalidParameter

PROBLEM = "is sound alone (no picture); video operations need a picture"
ACCEPTED = "the id of an image, or of a video with a picture"


def has_picture(media: Row) -> bool:
    """`media`: a row with the media's kind and video_codec (editroom.media's columns)."""
    return media["kind"] != MediaKind.VIDEO or media["video_codec"] is not None


def refuse_sound_alone(media: Row, *, parameter: str = "media") -> None:
    """Raise InvalidParameter naming `parameter` and the media's id if it has no picture."""
    if not has_picture(media):
        raise InvalidParameter(parameter, str(media["id"]), PROBLEM, accepted=ACCEPTED)


def refuse_sound_alone_head(session_id: UUID, *, picture: bool) -> None:
    """Raise InvalidParameter naming the session if its next step would read sound alone (its
    head, or the result of a step still to run: `picture` False)."""
    if not picture:
        raise InvalidParameter(
            "session", str(session_id), f"its head {PROBLEM}",
            accepted="a session whose head has a picture: undo the step that kept the sound "
            "alone once it has run",
        )  # fmt: skip
