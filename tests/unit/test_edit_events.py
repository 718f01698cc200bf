"""Following an edit: every state its notifications announced is told, in order, even one
the edit had already left when it was read, and never one earlier than the last told."""

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

from service.domain.edits import Edits
from service.domain.events import EditEvents, Subscription
from service.kernel.db import Row
from service.kernel.metrics import ServiceMetrics
from service.kernel.settings import Settings


class HeldSlots:
    """Wake slots that are held as soon as asked (the SQL side is tested in integration)."""

    def __init__(self) -> None:
        self.watching: set[str] = set()

    @property
    def held(self) -> bool:
        return bool(self.watching)

    async def watch(self, *channels: str) -> None:
        self.watching.update(channels)

    async def unwatch(self, *channels: str) -> None:
        self.watching.difference_update(channels)

    async def close(self) -> None:
        self.watching.clear()


class ScriptedDatabase:
    """Answers `edit_by_id` with the next row of a script, and keeps the last one."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self.slots = HeldSlots()

    def wake_slots(self, *channels: str) -> HeldSlots:
        return self.slots

    async def fetch_one(self, query: str, **params: Any) -> Row:
        assert query == "edit_by_id"
        return self.rows.pop(0) if len(self.rows) > 1 else self.rows[0]


def row(edit_id: UUID, status: str, trial: int, progress: float | None, **more: Any) -> Row:
    return {"id": edit_id, "status": status, "trial": trial, "progress": progress,
            "outputs": [], **more}  # fmt: skip


def announce(events: EditEvents, edit_id: UUID, status: str, trial: int, progress: Any) -> None:
    payload = {"id": str(edit_id), "status": status, "trial": trial, "progress": progress}
    events._dispatch(json.dumps([payload]))


def follow(rows: list[Row], announced: list[tuple[str, int, float | None]]) -> list[Row]:
    """What a follower is told when `announced` arrive after the first read, and the
    second read already finds the edit past all of them (`rows[1]`)."""
    edit_id = rows[0]["id"]

    async def run() -> list[Row]:
        events = EditEvents(ScriptedDatabase(rows))  # type: ignore[arg-type]
        edits = Edits(database=ScriptedDatabase(rows), events=events,  # type: ignore[arg-type]
                      settings=Settings(), metrics=ServiceMetrics())  # fmt: skip
        told: list[Row] = []
        async for state in edits.follow(edit_id):
            assert state is not None
            told.append(state)
            if len(told) == 1:
                for status, trial, progress in announced:
                    announce(events, edit_id, status, trial, progress)
        return told

    return asyncio.run(asyncio.wait_for(run(), 5))


def states(told: list[Row]) -> list[tuple[str, int, float | None]]:
    return [(state["status"], state["trial"], state["progress"]) for state in told]


def test_a_state_left_before_the_read_is_still_told() -> None:
    edit_id = uuid4()
    done = row(edit_id, "completed", 1, 1.0, outputs=["out"])
    told = follow(
        [row(edit_id, "queued", 0, None), done],
        [("processing", 1, 0.0), ("processing", 1, 0.5), ("completed", 1, 1.0)],
    )
    assert states(told) == [
        ("queued", 0, None),
        ("processing", 1, 0.0),
        ("processing", 1, 0.5),
        ("completed", 1, 1.0),
    ]
    assert told[1]["outputs"] == []  # told over the edit as last read, not the finished one
    assert told[-1] == done


def test_announcements_older_than_what_was_read_are_not_told() -> None:
    edit_id = uuid4()
    told = follow(
        [row(edit_id, "processing", 2, 0.5), row(edit_id, "completed", 2, 1.0)],
        [("error", 1, None), ("processing", 2, 0.2), ("processing", 2, 0.8)],
    )
    assert states(told) == [("processing", 2, 0.5), ("processing", 2, 0.8), ("completed", 2, 1.0)]


def test_a_retry_after_an_error_is_told_in_order() -> None:
    edit_id = uuid4()
    told = follow(
        [row(edit_id, "processing", 1, 0.0), row(edit_id, "completed", 2, 1.0)],
        [("error", 1, None), ("processing", 2, 0.0), ("completed", 2, 1.0)],
    )
    assert states(told) == [
        ("processing", 1, 0.0),
        ("error", 1, None),
        ("processing", 2, 0.0),
        ("completed", 2, 1.0),
    ]


class CountingDatabase(ScriptedDatabase):
    """Counts the reads of the edit."""

    reads = 0

    async def fetch_one(self, query: str, **params: Any) -> Row:
        self.reads += 1
        return await super().fetch_one(query, **params)


def answer_after_making(made: Row, finished: Row, *, during: Any, after: Any) -> tuple[Row, int]:
    """Edits.waiting() around a making that returns `made`, while `during(events)` runs;
    then `after(events)` once the answer waits. The answer and how many reads it took."""

    async def run() -> tuple[Row, int]:
        database = CountingDatabase([finished])
        events = EditEvents(database)  # type: ignore[arg-type]
        edits = Edits(database=database, events=events,  # type: ignore[arg-type]
                      settings=Settings(), metrics=ServiceMetrics())  # fmt: skip
        async with edits.waiting(30) as answer:
            during(events)
            answering = asyncio.ensure_future(answer(made))
            await asyncio.sleep(0.01)
            after(events)
            return await answering, database.reads

    return asyncio.run(asyncio.wait_for(run(), 5))


def test_an_edit_waited_for_from_its_making_is_read_only_once_it_may_have_finished() -> None:
    """Subscribed before the edit is made: the row the making returned is where the wait
    starts; states announced meanwhile (its own, another edit's) are kept until its id is
    known, and only the announced completion costs a read."""
    edit_id, other = uuid4(), uuid4()
    done = row(edit_id, "completed", 1, 1.0, outputs=["out"])

    def during(events: EditEvents) -> None:
        announce(events, other, "completed", 1, 1.0)
        announce(events, edit_id, "queued", 0, None)

    def after(events: EditEvents) -> None:
        announce(events, edit_id, "processing", 1, 0.0)
        announce(events, edit_id, "completed", 1, 1.0)

    answered, reads = answer_after_making(
        row(edit_id, "queued", 0, None), done, during=during, after=after
    )
    assert (answered, reads) == (done, 1)


def test_a_completion_announced_while_the_edit_was_made_is_answered() -> None:
    edit_id = uuid4()
    done = row(edit_id, "completed", 1, 1.0)

    def during(events: EditEvents) -> None:
        announce(events, edit_id, "completed", 1, 1.0)

    answered, reads = answer_after_making(
        row(edit_id, "queued", 0, None), done, during=during, after=lambda events: None
    )
    assert (answered, reads) == (done, 1)


def test_a_notification_perhaps_missed_while_the_edit_was_made_reads_it_again() -> None:
    """As after a lost LISTEN: the edit is read again, even with states announced besides."""
    edit_id = uuid4()
    done = row(edit_id, "completed", 1, 1.0)

    def during(events: EditEvents) -> None:
        announce(events, edit_id, "processing", 1, 0.0)
        events._wake_everyone()

    answered, reads = answer_after_making(
        row(edit_id, "queued", 0, None), done, during=during, after=lambda events: None
    )
    assert (answered, reads) == (done, 1)


def test_a_missed_notification_is_not_hidden_by_states_announced_besides() -> None:
    subscription = Subscription(uuid4())
    subscription.notify({"status": "processing", "trial": 1, "progress": 0.0})
    subscription.notify(None)
    assert subscription.take() == []  # look again
    subscription.notify({"status": "completed", "trial": 1, "progress": 1.0})
    assert subscription.take() == [{"status": "completed", "trial": 1, "progress": 1.0}]
