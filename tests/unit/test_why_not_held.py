"""Why a runner could not finish an edit, read from the edit as the database has it: the
verdict that decides what the runner logs and counts, and whether it fails the edit itself."""

import asyncio
import json
from typing import Any
from uuid import UUID, uuid4

import pytest

from runner.process.metrics import CANCELLED, COMPLETED, LOST
from runner.process.worker import EVENTS_CHANNEL, HELD, Runner
from service.kernel.settings import Settings

WORKER = "runner-1"


class OneEdit:
    """Just enough of a Database: the edit it is asked for, as given."""

    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row

    async def fetch_one(self, query: str, **params: Any) -> dict[str, Any] | None:
        assert query == "edit_by_id"
        return self.row

    def wake_slots(self, *channels: str) -> object:
        return object()

    def own_connection(self) -> object:
        return object()


def verdict(row: dict[str, Any] | None, *, trial: int | None) -> str:
    runner = Runner(
        database=OneEdit(row),  # type: ignore[arg-type]
        storage=None,  # type: ignore[arg-type]
        settings=Settings(runner_name=WORKER),
        execute=None,  # type: ignore[arg-type]
    )
    edit_id: UUID = row["id"] if row else uuid4()
    return asyncio.run(runner._why_not_held(edit_id, trial=trial))


@pytest.mark.parametrize(
    ("status", "trial", "locked_by", "expected"),
    [
        ("completed", 2, None, COMPLETED),  # our completion got through; its answer was lost
        ("completed", 3, None, LOST),  # completed, but in a later trial: someone else's
        ("processing", 2, WORKER, HELD),  # still ours: the result itself was refused
        ("processing", 3, "runner-2", LOST),  # reaped and claimed again
        ("processing", 2, "runner-2", LOST),
        ("cancelled", 2, None, CANCELLED),
        ("queued", 2, None, LOST),  # reaped, waiting for a runner
    ],
)
def test_the_verdict_reads_the_trial_it_was_claimed_in(
    status: str, trial: int, locked_by: str | None, expected: str
) -> None:
    row = {"id": uuid4(), "status": status, "trial": trial, "locked_by": locked_by}
    assert verdict(row, trial=2) == expected


def test_without_a_trial_nothing_is_ours_or_completed() -> None:
    row = {"id": uuid4(), "status": "processing", "trial": 2, "locked_by": WORKER}
    assert verdict(row, trial=None) == LOST
    assert verdict(None, trial=2) == LOST


def stopped_by(event: dict[str, Any], *, held_trial: int) -> bool:
    """Whether an edit-events notification stops the edit this runner holds in held_trial."""
    runner = Runner(
        database=OneEdit(None),  # type: ignore[arg-type]
        storage=None,  # type: ignore[arg-type]
        settings=Settings(runner_name=WORKER),
        execute=None,  # type: ignore[arg-type]
    )
    edit_id = uuid4()

    async def run() -> bool:
        task = asyncio.create_task(asyncio.sleep(10))
        runner._working[edit_id] = task
        runner._beats.begin(edit_id, held_trial)
        runner._notified(EVENTS_CHANNEL, json.dumps([{**event, "id": str(edit_id)}]))
        await asyncio.sleep(0)
        task.cancel()
        return edit_id in runner._stopped

    return asyncio.run(run())


@pytest.mark.parametrize(
    ("status", "trial", "stops"),
    [
        ("queued", 0, False),  # its enqueue, heard after this runner claimed it
        ("error", 1, False),  # an earlier attempt's end, heard late
        ("processing", 2, False),
        ("cancelled", 2, True),
        ("error", 2, True),  # failed by hand or reaped under us
        ("queued", 2, True),  # released
        ("failed", 3, True),
    ],
)
def test_only_news_of_the_trial_held_or_later_stops_an_edit(
    status: str, trial: int, stops: bool
) -> None:
    event = {"status": status, "trial": trial, "progress": None}
    assert stopped_by(event, held_trial=2) is stops
