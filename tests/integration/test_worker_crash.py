"""A worker process killed with SIGKILL mid-edit: its trial counts and the edit still ends."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from tests.processes import editroom_env, editroom_process
from tests.queue import Conn, attempts, disable_backoff, edit, enqueue, insert_media
from tests.waiting import eventually

# A worker that claims one edit with a short lease, says which, and then works forever.
HANGING_WORKER = """
import sys, time, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    (edit_id,) = conn.execute(
        "SELECT id FROM editroom.claim_edits(%s, 1, '1 second')", [sys.argv[2]]
    ).fetchone()
    print(edit_id, flush=True)
    while True:
        time.sleep(60)
"""


@pytest.fixture
def media(conn: Conn) -> UUID:
    disable_backoff(conn)
    return insert_media(conn)


def kill_worker_mid_edit(database_url: str, worker: str) -> UUID:
    process = subprocess.Popen(
        [sys.executable, "-c", HANGING_WORKER, database_url, worker], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    with process.stdout:
        edit_id = UUID(process.stdout.readline().decode().strip())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return edit_id


def lease_run_out(conn: Conn, edit_id: UUID) -> None:
    """The dead worker's lease over, made so rather than waited for (its 1 s, and a loaded
    machine's lateness): test_a_running_runner_reaps_and_finishes_on_its_own waits one out."""
    conn.execute(
        "UPDATE editroom.edits SET lease_until = now() - interval '1 second' WHERE id = %s",
        [edit_id],
    )


def reap(conn: Conn) -> int:
    row = conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone()
    return int(row["n"]) if row else 0


def test_killed_worker_trial_counts_and_another_finishes(
    conn: Conn, database_url: str, media: UUID, tmp_path: Path
) -> None:
    queued = enqueue(conn, media)["id"]
    edit_id = kill_worker_mid_edit(database_url, "doomed")
    assert edit_id == queued
    assert edit(conn, edit_id)["status"] == "processing"  # nobody knows yet

    assert reap(conn) == 0  # the lease still runs
    lease_run_out(conn, edit_id)
    assert reap(conn) == 1
    reaped = edit(conn, edit_id)
    assert (reaped["status"], reaped["trial"]) == ("error", 1)
    assert "worker doomed stopped heartbeating" in reaped["error"]

    with editroom_process(
        "runner", env=editroom_env(database_url, tmp_path), log=tmp_path / "runner.log"
    ):
        eventually(lambda: edit(conn, edit_id)["status"] == "completed", what="another worker")
    history = [(a["trial"], a["worker"], a["outcome"]) for a in attempts(conn, edit_id)]
    assert history[0] == (1, "doomed", "error")
    assert history[1][0] == 2 and history[1][2] == "completed" and history[1][1] != "doomed"


def test_killed_on_every_trial_the_edit_fails_with_the_reason(
    conn: Conn, database_url: str, media: UUID
) -> None:  # no runner here: the test reaps by hand
    edit_id = enqueue(conn, media, max_trials=2)["id"]
    for trial in (1, 2):
        assert kill_worker_mid_edit(database_url, f"doomed-{trial}") == edit_id
        lease_run_out(conn, edit_id)
        assert reap(conn) == 1, f"trial {trial}"
    failed = edit(conn, edit_id)
    assert (failed["status"], failed["trial"]) == ("failed", 2)
    assert (
        "lease expired" in failed["error"]
        and "worker doomed-2 stopped heartbeating" in failed["error"]
    )


def test_a_running_runner_reaps_and_finishes_on_its_own(
    conn: Conn, database_url: str, media: UUID, tmp_path: Path
) -> None:
    enqueue(conn, media)
    env = editroom_env(
        database_url, tmp_path, reap_interval_seconds="0.2", poll_interval_seconds="0.2"
    )
    with editroom_process("runner", env=env, log=tmp_path / "runner.log"):
        edit_id = kill_worker_mid_edit(database_url, "doomed")
        eventually(lambda: edit(conn, edit_id)["status"] == "completed", what="reap and redo")
    assert [a["outcome"] for a in attempts(conn, edit_id)] == ["error", "completed"]
