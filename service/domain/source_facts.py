"""What an edit's source is known to be before anything runs: its media row says a picture's
size (as displayed, EXIF orientation applied) and a video's duration. An operation those
facts already make impossible (a trim starting after the video's end, a crop outside the
picture) is refused when the edit is asked for, as sound alone is (sound_alone.py), rather
than queued to fail when it runs. Every way of making edits of a media asks here, and so does a
session's step, against the session's head (refuse_impossible_step)."""

from collections.abc import Sequence

from runner.engine.ops.base import Limits, Operation, SourceFacts, known_seconds
from runner.engine.ops.language import check_source
from service.kernel.db import Row
from service.kernel.errors import InvalidParameter

FACTS = ("width", "height", "duration_seconds")
"""The media's columns read here (media_to_edit.py keeps them with the rest of its facts). A
video's recorded 0 s is read as an unknown length (known_seconds): nothing is refused by it."""


def source_facts(media: Row) -> SourceFacts:
    return SourceFacts(
        width=media.get("width"), height=media.get("height"),
        duration_seconds=known_seconds(media.get("duration_seconds")),
    )  # fmt: skip


def refuse_impossible(media: Row, operations: Sequence[Operation], *, limits: Limits) -> None:
    """Raise InvalidParameter naming the operation (crop, trim) the media makes impossible."""
    check_source(operations, source_facts(media), limits=limits)


def refuse_impossible_run(media: Row, operations: Sequence[Operation], *, limits: Limits) -> None:
    """For a workflow's run: the same refusal, naming the media the run was asked of (the
    operations are the workflow's, not the request's)."""
    try:
        refuse_impossible(media, operations, limits=limits)
    except InvalidParameter as refused:
        raise InvalidParameter(
            "media", str(media["id"]),
            f"the workflow's {refused.parameter}={refused.value}: {refused.problem}",
            accepted="a media the workflow's operations fit",
        ) from None  # fmt: skip


def refuse_impossible_step(state: Row, operations: Sequence[Operation], *, limits: Limits) -> None:
    """For a session's next step (`state`: its session_plan): the same refusal, judged by
    the head's facts, when the head is known: the original, or a completed step's result.
    While a step is still to run, the head the next step reads is still being made and its
    facts are not known yet: that step is judged by the runner, with the head at hand."""
    if state["pending_ops"]:
        return
    head = SourceFacts(
        width=state["head_width"], height=state["head_height"],
        duration_seconds=known_seconds(state["head_duration_seconds"]),
    )  # fmt: skip
    try:
        check_source(operations, head, limits=limits)
    except InvalidParameter as refused:
        raise InvalidParameter(
            refused.parameter, refused.value, f"{refused.problem} (the session's head)",
            accepted=refused.accepted,
        ) from None  # fmt: skip
