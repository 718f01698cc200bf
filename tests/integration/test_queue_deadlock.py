"""The status counters cannot make two transactions wait on each other in a cycle.

A final failure of a session step with a step waiting behind it moves counters in the order
processing, failed, then (the cascade) queued; a claim moves queued then processing. When the
counters were shared by backends (pid % 16), two such transactions on the same shard
deadlocked within a second. Counters are now per backend."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue import Conn, insert_media, status_counts
from tests.waiting import eventually

RACE_SECONDS = 3.0
OLD_SHARDS = 16  # how counters were shared before: pg_backend_pid() % 16


@pytest.fixture
def same_old_shard(database_url: str) -> Iterator[tuple[Conn, Conn]]:
    """Two connections whose backends shared a counter shard under the old scheme."""
    with ExitStack() as stack:
        seen: dict[int, Conn] = {}
        for _ in range(4 * OLD_SHARDS):
            conn = stack.enter_context(
                psycopg.connect(database_url, autocommit=True, row_factory=dict_row)
            )
            shard = conn.info.backend_pid % OLD_SHARDS
            if shard in seen:
                yield seen[shard], conn
                return
            seen[shard] = conn
        pytest.fail("no two backends with the same pid % 16")


def fail_session_steps(conn: Conn, media: UUID, deadline: float) -> int:
    """Session steps whose final failure takes the step waiting behind it down too."""
    rounds = 0
    while time.monotonic() < deadline:
        session = conn.execute("SELECT id FROM editroom.open_session(%s)", [media]).fetchone()
        assert session is not None
        steps = [
            conn.execute(
                "SELECT id FROM editroom.enqueue_edit(NULL, %s, p_session_id => %s)",
                [Jsonb([]), session["id"]],
            ).fetchone()
            for _ in range(2)
        ]
        first = steps[0]
        assert first is not None
        # A claim of exactly this step, unless the other thread's claim took it first.
        claimed = conn.execute(
            """UPDATE editroom.edits
                  SET status = 'processing', trial = trial + 1, locked_by = 'stepper',
                      lease_until = now() + interval '5 minutes', started_at = now()
                WHERE id = %s AND status = 'queued'""",
            [first["id"]],
        ).rowcount
        if not claimed:
            continue
        conn.execute("SELECT editroom.fail_edit(%s, 'stepper', 'broken', false)", [first["id"]])
        rounds += 1
    return rounds


def claim_and_complete(conn: Conn, media: UUID, deadline: float) -> int:
    rounds = 0
    while time.monotonic() < deadline:
        conn.execute("SELECT editroom.enqueue_edit(%s, %s, p_priority => 1)", [media, Jsonb([])])
        for row in conn.execute("SELECT id FROM editroom.claim_edits('claimer', 4)").fetchall():
            conn.execute("SELECT editroom.complete_edit(%s, 'claimer', '{}')", [row["id"]])
        rounds += 1
    return rounds


def run_together(*bodies: Callable[[], int]) -> list[Any]:
    results: list[Any] = [None] * len(bodies)

    def body(index: int) -> None:
        try:
            results[index] = bodies[index]()
        except BaseException as exc:
            results[index] = exc

    threads = [threading.Thread(target=body, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_failing_session_steps_never_deadlock_with_claims(
    conn: Conn, same_old_shard: tuple[Conn, Conn]
) -> None:
    stepper, claimer = same_old_shard
    media = insert_media(conn)
    deadline = time.monotonic() + RACE_SECONDS
    results = run_together(
        lambda: fail_session_steps(stepper, media, deadline),
        lambda: claim_and_complete(claimer, media, deadline),
    )
    deadlocks = [r for r in results if isinstance(r, errors.DeadlockDetected)]
    assert deadlocks == [], deadlocks
    assert all(isinstance(r, int) and r > 10 for r in results), results

    counted = conn.execute(
        "SELECT status::text, count(*) AS n FROM editroom.edits GROUP BY status"
    ).fetchall()
    expected = {status: 0 for status in status_counts(conn)} | {
        row["status"]: row["n"] for row in counted
    }
    assert status_counts(conn) == expected
    assert expected["failed"] > 10 and expected["completed"] > 10


def test_counters_of_closed_connections_are_folded_and_stay_exact(
    conn: Conn, database_url: str
) -> None:
    media = insert_media(conn)
    # Five connections open at once: five backends, so five shards (a closed backend's pid may
    # be reused by the next one).
    others = [psycopg.connect(database_url, autocommit=True) for _ in range(5)]
    pids = [other.info.backend_pid for other in others]
    for other in others:
        other.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
        other.close()
    gone = "SELECT count(*) = 0 AS gone FROM pg_stat_activity WHERE pid = ANY(%s)"
    eventually(lambda: conn.execute(gone, [pids]).fetchone() == {"gone": True}, what="exits")
    rows_before = conn.execute("SELECT count(*) AS n FROM editroom.edit_status_counts").fetchone()
    assert rows_before is not None and rows_before["n"] >= 5  # one per connection that wrote

    folded = conn.execute("SELECT editroom.compact_status_counts() AS n").fetchone()
    assert folded is not None and folded["n"] >= 5
    left = conn.execute("SELECT count(*) AS n FROM editroom.edit_status_counts").fetchone()
    assert left is not None and left["n"] < rows_before["n"]
    assert status_counts(conn)["queued"] == 5
