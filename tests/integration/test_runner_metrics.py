"""A runner's metrics after real claims against PostgreSQL: every outcome, queue wait, slots,
and lease losses, read from its registry the way Prometheus reads them."""

import asyncio
import threading
from pathlib import Path
from uuid import UUID

import pytest

from runner.process.execute import ClaimedEdit, ReportProgress
from service.kernel.errors import EditFailed
from service.kernel.settings import Settings
from tests.metrics import Scrape
from tests.queue import Conn, disable_backoff, edit, enqueue, insert_media
from tests.runner_harness import RunningRunner, running_runner
from tests.waiting import eventually


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, data_dir=tmp_path, runner_name="test-runner",
        poll_interval_seconds=0.2, heartbeat_seconds=0.1, progress_interval_seconds=0.1,
    )  # fmt: skip


@pytest.fixture
def media(conn: Conn) -> UUID:
    disable_backoff(conn)
    return insert_media(conn)


def scrape(running: RunningRunner) -> Scrape:
    return Scrape.of(running.runner.metrics.registry)


async def scripted(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
    """Does what the edit's first operation says."""
    what = claimed.ops[0]["op"] if claimed.ops else "complete"
    if what == "refuse":
        raise EditFailed("refused for the test")
    if what == "flaky" and claimed.trial == 1:
        raise OSError("disk hiccup")
    return []


def test_each_attempt_is_counted_and_timed_by_kind_and_outcome(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    made = [enqueue(conn, media, ops)["id"] for ops in ([], [{"op": "refuse"}], [{"op": "flaky"}])]
    with running_runner(settings, execute=scripted) as running:
        for edit_id in made:
            eventually(lambda e=edit_id: edit(conn, e)["status"] in {"completed", "failed"})  # type: ignore[misc]
        seen = scrape(running)
    processed = {
        outcome: seen.value("editroom_edits_processed_total", kind="image", outcome=outcome)
        for outcome in ("completed", "error", "failed", "cancelled", "lost", "abandoned")
    }
    assert processed == {
        "completed": 2, "error": 1, "failed": 1, "cancelled": 0, "lost": 0, "abandoned": 0,
    }  # fmt: skip
    timed = "editroom_processing_duration_seconds_count"
    assert seen.value(timed, kind="image", outcome="completed") == 2
    assert seen.value(timed, kind="image", outcome="error") == 1
    # Queue wait is the first claim's: the retry waited on its back-off, not on the runners.
    assert seen.value("editroom_queue_wait_seconds_count", kind="image") == 3
    assert seen.value("editroom_claim_duration_seconds_count") >= 3
    assert seen.value("editroom_lease_losses_total") == 0


class Gate:
    """Edits that wait until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    async def __call__(self, claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        report(0.5)
        while not self.opened.is_set():
            await asyncio.sleep(0.01)
        return []


def test_slots_cancellations_and_lease_losses(conn: Conn, media: UUID, settings: Settings) -> None:
    gate = Gate()
    cancelled, lost = (enqueue(conn, media)["id"] for _ in range(2))
    with running_runner(settings, execute=gate, concurrency=3) as running:
        for edit_id in (cancelled, lost):
            eventually(lambda e=edit_id: edit(conn, e)["progress"] == 0.5, what="both to start")  # type: ignore[misc]
        seen = scrape(running)
        # Three image slots (concurrency=3), beside the default lanes of videos (1) and imports (2).
        assert seen.value("editroom_runner_slots", state="busy") == 2
        assert seen.value("editroom_runner_slots", state="idle") == 4
        assert seen.value("editroom_runner_lane_slots", kind="image", state="busy") == 2
        assert seen.value("editroom_runner_lane_slots", kind="image", state="idle") == 1
        assert seen.value("editroom_runner_lane_slots", kind="import", state="idle") == 2
        conn.execute("SELECT editroom.cancel_edit(%s)", [cancelled])
        # What reaping does to a runner that went quiet: its attempt fails under it.
        conn.execute("SELECT editroom.fail_edit(%s, 'test-runner', 'lease expired')", [lost])
        eventually(
            lambda: scrape(running).value("editroom_lease_losses_total") == 1,
            what="the runner to give up the edit it lost",
        )
        gate.opened.set()  # the lost edit's retry may now finish
        eventually(lambda: edit(conn, lost)["status"] == "completed", what="the retry")
        eventually(lambda: scrape(running).value("editroom_runner_slots", state="busy") == 0)
        seen = scrape(running)
    count = "editroom_edits_processed_total"
    assert seen.value(count, kind="image", outcome="cancelled") == 1
    assert seen.value(count, kind="image", outcome="lost") == 1
    assert seen.value(count, kind="image", outcome="completed") == 1
    assert seen.value("editroom_runner_slots", state="idle") == 6
    assert seen.value("editroom_runner_lane_slots", kind="image", state="idle") == 3
