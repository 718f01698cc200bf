"""Why a runner could not finish an edit, read from the edit as the database has it: the
verdict that decides what the runner logs and counts, and whether it fails the edit itself."""

import asyncio
from typing import Any
from uuid import UUID, uuid4

import pytest

from runner.process.metrics import CANCELLED, COMPLETED, LOST
from runner.process.worker import HELD, Runner
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
