"""A session's next step, as POST /edit?session=ID makes it. It is planned from the session as
read (session_plan): the kind it will read and whether that has a picture (next_input), so a
step that would read sound alone is refused naming the session, and its operations are parsed
for that kind. Two requests at once may both read the session before either step is made, so
a step is made only if the session is still as it was read: editroom.enqueue_session_edit
makes it only if it follows the step it was planned after (the newest still to run, else the
head), checked under the session's lock. Otherwise nothing is made (SessionMoved) and the step
is planned again from the session as it is now, SESSION_PLANS times at most: the later of two
requests is checked against the step that won, an optimistic compare-and-set."""

from uuid import UUID

from runner.engine.ops.base import MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import makes_sound_alone, result_kind
from service.domain.edit_controls import parse_priority, parse_uuid
from service.domain.sound_alone import has_picture
from service.kernel.db import Database, Row
from service.kernel.errors import InvalidParameter, NotFound, SessionMoved

# Plans of one request: another step made between its reading and its making each time
# means a session others keep adding to; the last SessionMoved is the answer then (409).
SESSION_PLANS = 3


async def session_plan(database: Database, session_id: UUID) -> Row | None:
    """What the session's next step is planned from: its head's facts, the operations of its
    steps still to run, and the step the new one would follow; None when there is no such
    session. Only planning reads the steps still to run; a read of the session does not."""
    return await database.fetch_one("session_plan", id=session_id)


def next_input(state: Row) -> tuple[MediaKind, bool]:
    """What a session's next step reads: its kind, and whether it has a picture. Its head's,
    unless a step still to run has an operation whose results are another kind (frames,
    thumbnail: images) or sound alone (audio=extract)."""
    kind = MediaKind(state["head_kind"])
    picture = has_picture({"kind": kind, "video_codec": state["head_video_codec"]})
    for ops in state["pending_ops"]:
        names = [op["op"] for op in ops]
        picture = picture and not makes_sound_alone(catalogue(), kind, names)
        kind = result_kind(catalogue(), kind, names)
    return kind, picture


async def enqueue_step(
    database: Database,
    *,
    state: Row,
    ops: str,
    max_trials: int,
    priority: int,
) -> Row:
    """Session `state["id"]`'s next step running `ops` (JSON), if the session is still as
    `state` (its session_plan) read it; SessionMoved, with nothing made, if not."""
    follows: UUID | None = state["next_follows_edit_id"]
    try:
        row = await database.fetch_one(
            "enqueue_session_edit", session_id=state["id"], follows_edit_id=follows, ops=ops,
            max_trials=max_trials, priority=priority,
        )  # fmt: skip
    except NotFound:  # deleted since it was read
        raise no_such_session(state["id"]) from None
    if row is None or row["id"] is None:
        raise SessionMoved(state["id"])
    return row


def no_such_session(session_id: UUID) -> InvalidParameter:
    """A session POST /edit names that does not exist, or no longer: a parameter of the
    action naming nothing (422), not a missing resource (404)."""
    return InvalidParameter(
        "session", str(session_id), "no such session", accepted="the id of an open session"
    )


def session_controls(control: dict[str, str]) -> tuple[UUID, int]:
    """A session step's session and priority; the controls it cannot take refused."""
    if "fresh" in control:
        raise InvalidParameter(
            "fresh", control["fresh"], "a session's steps always run",
            accepted="fresh only with media=ID",
        )  # fmt: skip
    if "media" in control:
        raise InvalidParameter(
            "media", control["media"], "a session edit reads the session's head",
            accepted="either media=ID or session=ID",
        )  # fmt: skip
    session_id = parse_uuid("session", control["session"], what="a session id")
    return session_id, parse_priority(control.get("priority"))
