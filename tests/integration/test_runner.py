"""The runner against a real database: claims, batches, heartbeats, cancels, shutdown."""

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from psycopg.types.json import Jsonb

from runner.engine import sandbox as sandbox_module
from runner.process.execute import ClaimedEdit, ReportProgress
from service.kernel.errors import (
    SandboxInternalError,
    SandboxIOError,
    SandboxOutOfMemory,
    SandboxStuck,
)
from service.kernel.settings import Settings
from tests import sandboxed
from tests.queue import (
    Conn,
    attempts,
    claim,
    disable_backoff,
    edit,
    enqueue,
    insert_media,
    status_counts,
)
from tests.runner_harness import running_runner
from tests.waiting import eventually


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        runner_name="test-runner",
        poll_interval_seconds=0.2,
        heartbeat_seconds=0.1,
        reap_interval_seconds=0.2,
        lease_seconds=5,
        shutdown_grace_seconds=5,
    )


@pytest.fixture
def media(conn: Conn) -> UUID:
    disable_backoff(conn)
    return insert_media(conn)


def status_of(conn: Conn, edit_id: UUID) -> Callable[[], str]:
    return lambda: str(edit(conn, edit_id)["status"])


def test_noop_edits_are_completed_in_batches(conn: Conn, media: UUID, settings: Settings) -> None:
    for ops in ([], [{"op": "noop"}], [{"op": "noop"}, {"op": "noop"}]) * 70:
        enqueue(conn, media, ops)
    with running_runner(settings, concurrency=25):
        eventually(lambda: status_counts(conn)["completed"] == 210, what="210 completed edits")
    rows = conn.execute(
        "SELECT DISTINCT trial, worker, outcome::text FROM editroom.edit_attempts"
    ).fetchall()
    assert rows == [{"trial": 1, "worker": "test-runner", "outcome": "completed"}]


def test_unsupported_operation_fails_without_retry(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    edit_id = enqueue(conn, media, [{"op": "noop"}, {"op": "vignette"}], max_trials=3)["id"]
    with running_runner(settings):
        eventually(lambda: status_of(conn, edit_id)() == "failed", what="the edit to fail")
    failed = edit(conn, edit_id)
    assert failed["trial"] == 1
    assert "ops[1].op='vignette': no such image operation" in failed["error"]


def test_a_raising_edit_is_retried_and_the_runner_lives_on(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    calls: list[int] = []

    async def flaky(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        calls.append(claimed.trial)
        if claimed.trial == 1:
            raise OSError("disk hiccup")
        return []

    edit_id = enqueue(conn, media)["id"]
    with running_runner(settings, execute=flaky):
        eventually(lambda: status_of(conn, edit_id)() == "completed", what="completion")
    assert calls == [1, 2]
    assert [(a["outcome"], a["error"]) for a in attempts(conn, edit_id)] == [
        ("error", "OSError: disk hiccup"),
        ("completed", None),
    ]


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (SandboxInternalError("internal error in run_edit: ValueError: negative"), False),
        (SandboxOutOfMemory("ran out of memory: ... EDITROOM_EDIT_MEMORY_BYTES ..."), False),
        (SandboxIOError("I/O error in run_edit: OSError: [Errno 5] Input/output error"), True),
        (SandboxStuck("the worker process did not take its job within 30 s"), True),
    ],
)
def test_what_a_sandboxed_child_raised_decides_the_retry(
    conn: Conn, media: UUID, settings: Settings, error: Exception, retried: bool
) -> None:
    async def failing(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        raise error

    edit_id = enqueue(conn, media, max_trials=2)["id"]
    with running_runner(settings, execute=failing):
        eventually(lambda: status_of(conn, edit_id)() == "failed", what="the edit to fail")
    failed = edit(conn, edit_id)
    assert failed["trial"] == (2 if retried else 1)
    assert str(error) in failed["error"]


def test_an_edit_whose_child_is_stuck_is_retried_within_seconds(
    conn: Conn, media: UUID, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real executor and sandbox, every child stuck (ready, then never reading its job):
    each attempt is stopped after CHILD_TAKE_SECONDS, not the edit's time limit (300 s), and
    retried; the edit never sits at progress 0 for good."""
    monkeypatch.setattr(sandbox_module, "_child_main", sandboxed.ready_then_stuck_child)
    monkeypatch.setattr(sandbox_module, "CHILD_TAKE_SECONDS", 0.5)
    ops = [{"op": "resize", "width": 100}]
    edit_id = enqueue(conn, media, ops, max_trials=2)["id"]
    with running_runner(settings):
        eventually(
            lambda: status_of(conn, edit_id)() == "failed", timeout=30, what="the edit to fail"
        )
    failed = edit(conn, edit_id)
    assert failed["trial"] == 2
    assert "did not take its job within 0.5 s" in failed["error"]


class Gate:
    """An edit that reports progress, then waits until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self, claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        report(0.5)
        try:
            while not self.opened.is_set():
                await asyncio.sleep(0.01)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return []


def test_heartbeats_report_progress_and_stop_at_cancel(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    gate = Gate()
    edit_id = enqueue(conn, media)["id"]
    with running_runner(settings, execute=gate):
        eventually(lambda: edit(conn, edit_id)["progress"] == 0.5, what="progress 0.5")
        conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
        eventually(gate.cancelled.is_set, what="the runner to stop the cancelled edit")
    assert edit(conn, edit_id)["status"] == "cancelled"


def test_heartbeats_keep_the_lease_alive(conn: Conn, media: UUID, settings: Settings) -> None:
    gate = Gate()
    edit_id = enqueue(conn, media)["id"]
    short_lease = settings.model_copy(update={"lease_seconds": 1})
    with running_runner(short_lease, execute=gate):
        eventually(lambda: edit(conn, edit_id)["progress"] == 0.5, what="the edit to start")
        first_lease = edit(conn, edit_id)["lease_until"]
        eventually(lambda: edit(conn, edit_id)["lease_until"] > first_lease, what="a renewed lease")
        conn.execute("SELECT pg_sleep(1.5)")  # longer than the lease
        assert conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone() == {"n": 0}
        gate.opened.set()
        eventually(lambda: status_of(conn, edit_id)() == "completed", what="completion")
    assert edit(conn, edit_id)["trial"] == 1


def test_stop_finishes_edits_in_flight(conn: Conn, media: UUID, settings: Settings) -> None:
    gate = Gate()
    edit_id = enqueue(conn, media)["id"]
    with running_runner(settings, execute=gate) as running:
        eventually(lambda: status_of(conn, edit_id)() == "processing", what="the claim")
        running.stop()
        threading.Timer(0.3, gate.opened.set).start()
    assert edit(conn, edit_id)["status"] == "completed"
    assert claim(conn, "other") == []


def test_stop_gives_up_after_the_grace_period(conn: Conn, media: UUID, settings: Settings) -> None:
    gate = Gate()
    edit_id = enqueue(conn, media)["id"]
    impatient = settings.model_copy(update={"shutdown_grace_seconds": 0.2})
    with running_runner(impatient, execute=gate) as running:
        eventually(lambda: status_of(conn, edit_id)() == "processing", what="the claim")
        running.stop()
    assert gate.cancelled.is_set()
    released = edit(conn, edit_id)
    assert (released["status"], released["locked_by"]) == ("queued", None)  # not left to expire
    assert [(a["worker"], a["outcome"]) for a in attempts(conn, edit_id)] == [
        ("test-runner", "released")
    ]
    with running_runner(settings.model_copy(update={"runner_name": "next-runner"})):
        eventually(lambda: status_of(conn, edit_id)() == "completed", what="completion elsewhere")
    assert [(a["worker"], a["outcome"]) for a in attempts(conn, edit_id)] == [
        ("test-runner", "released"),
        ("next-runner", "completed"),
    ]


def test_the_runner_reaps_what_a_vanished_worker_held(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    edit_id = enqueue(conn, media)["id"]
    claim(conn, "ghost", lease="100 milliseconds")
    with running_runner(settings):
        eventually(lambda: status_of(conn, edit_id)() == "completed", what="reap and completion")
    workers = [(a["worker"], a["outcome"]) for a in attempts(conn, edit_id)]
    assert workers == [("ghost", "error"), ("test-runner", "completed")]


def test_polling_finds_work_without_notify(conn: Conn, media: UUID, settings: Settings) -> None:
    # Delayed edits send no NOTIFY when their time comes: only the poll finds them.
    row = conn.execute(
        "SELECT (editroom.enqueue_edit(%s, %s, p_run_after => now() + interval '300 ms')).id",
        [media, Jsonb([])],
    ).fetchone()
    assert row is not None
    with running_runner(settings):
        eventually(lambda: status_of(conn, row["id"])() == "completed", what="the delayed edit")


def claiming_backends(conn: Conn) -> set[int]:
    """The backends of this database whose last statement was a claim."""
    rows = conn.execute(
        """SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid()
              AND query LIKE '%%claim_edits_in_lanes(%%'"""
    ).fetchall()
    return {row["pid"] for row in rows}


def test_claims_go_out_on_a_connection_of_their_own(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    """A claim is the first thing a runner woken by NOTIFY sends: it waits for no hand-out
    from the pool, and its connection carries nothing else."""
    seen = []
    with running_runner(settings):
        for _ in range(5):
            edit_id = enqueue(conn, media)["id"]
            eventually(lambda i=edit_id: status_of(conn, i)() == "completed", what="the edit")  # type: ignore[misc]
            seen.append(claiming_backends(conn))
    assert [len(pids) for pids in seen] == [1] * 5
    assert len(set.union(*seen)) == 1


def test_the_runner_recovers_when_its_connections_are_killed(
    conn: Conn, media: UUID, settings: Settings
) -> None:
    first = enqueue(conn, media)["id"]
    with running_runner(settings):
        eventually(lambda: status_of(conn, first)() == "completed", what="the first edit")
        killed = conn.execute(
            """SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()"""
        ).fetchone()
        assert killed is not None and killed["n"] >= 3  # its pool, its claims', its LISTEN
        second = enqueue(conn, media)["id"]
        eventually(lambda: status_of(conn, second)() == "completed", what="work after the kill")
