"""Real connections racing each other: nothing claimed twice, nothing lost, counts exact."""

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue import Conn, claim, disable_backoff, insert_media, status_counts

CONNECTIONS = 8
EDITS = 2000


def enqueue_many(conn: Conn, media: UUID, count: int) -> None:
    conn.execute(
        "SELECT editroom.enqueue_edit(%s, %s) FROM generate_series(1, %s)",
        [media, Jsonb([]), count],
    )


def race(
    database_url: str, work: Callable[[Conn, int], Any], threads: int = CONNECTIONS
) -> list[Any]:
    """Run work(conn, index) on `threads` connections at once; return each one's result."""
    start = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    failures: list[BaseException] = []

    def body(index: int) -> None:
        try:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
                start.wait()
                results[index] = work(conn, index)
        except BaseException as exc:
            failures.append(exc)

    workers = [threading.Thread(target=body, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not failures, failures
    return results


def test_every_edit_is_claimed_exactly_once(conn: Conn, database_url: str) -> None:
    enqueue_many(conn, insert_media(conn), EDITS)

    def drain(worker_conn: Conn, index: int) -> list[UUID]:
        rng = random.Random(index)
        claimed: list[UUID] = []
        while batch := claim(worker_conn, f"racer-{index}", limit=rng.randint(1, 16)):
            ids = [row["id"] for row in batch]
            claimed.extend(ids)
            results = Jsonb({str(edit_id): [] for edit_id in ids})
            worker_conn.execute(
                "SELECT editroom.complete_edits(%s, %s)", [f"racer-{index}", results]
            )
        return claimed

    per_worker = race(database_url, drain)
    everything = [edit_id for claimed in per_worker for edit_id in claimed]
    duplicates = [edit_id for edit_id, n in Counter(everything).items() if n > 1]
    assert duplicates == []
    assert len(everything) == EDITS
    assert sum(1 for claimed in per_worker if claimed) > 1, "one connection did all the work"
    assert status_counts(conn)["completed"] == EDITS
    trials = conn.execute(
        "SELECT count(*) AS attempts, count(DISTINCT edit_id) AS edits, max(trial) AS max_trial "
        "FROM editroom.edit_attempts"
    ).fetchone()
    assert trials == {"attempts": EDITS, "edits": EDITS, "max_trial": 1}


def test_nothing_is_lost_while_producers_and_consumers_race(conn: Conn, database_url: str) -> None:
    media = insert_media(conn)
    producers, per_producer = 3, 300
    finished_producing = threading.Event()
    produced = Counter[int]()

    def work(worker_conn: Conn, index: int) -> list[UUID]:
        if index < producers:
            for _ in range(per_producer // 10):
                enqueue_many(worker_conn, media, 10)
                produced[index] += 10
            if sum(produced.values()) == producers * per_producer:
                finished_producing.set()
            return []
        claimed: list[UUID] = []
        while True:
            batch = claim(worker_conn, f"consumer-{index}", limit=5)
            if not batch and finished_producing.is_set() and not claim_pending(worker_conn):
                return claimed
            claimed.extend(row["id"] for row in batch)

    per_worker = race(database_url, work)
    everything = [edit_id for claimed in per_worker for edit_id in claimed]
    assert len(everything) == len(set(everything)) == producers * per_producer
    assert status_counts(conn)["processing"] == producers * per_producer


def claim_pending(conn: Conn) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM editroom.edits WHERE status = 'queued') AS pending"
    ).fetchone()
    return bool(row and row["pending"])


def test_status_counts_stay_exact_under_concurrent_transitions(
    conn: Conn, database_url: str
) -> None:
    disable_backoff(conn)
    media = insert_media(conn)
    enqueue_many(conn, media, 800)

    def churn(worker_conn: Conn, index: int) -> None:
        rng = random.Random(index)
        worker = f"churner-{index}"
        for _ in range(60):
            for row in claim(worker_conn, worker, limit=rng.randint(1, 6)):
                action = rng.choice(["complete", "fail", "fail_final", "cancel", "keep"])
                # Another connection may have cancelled or retried it first: that is the race.
                with contextlib.suppress(errors.ObjectNotInPrerequisiteState):
                    act(worker_conn, action, row["id"], worker)
            if rng.random() < 0.3:
                enqueue_many(worker_conn, media, rng.randint(1, 5))
            if rng.random() < 0.2:
                retry_some(worker_conn)

    race(database_url, churn)
    actual = conn.execute(
        "SELECT status::text, count(*) AS n FROM editroom.edits GROUP BY status"
    ).fetchall()
    expected = {status: 0 for status in status_counts(conn)} | {
        row["status"]: row["n"] for row in actual
    }
    assert status_counts(conn) == expected
    assert sum(expected.values()) > 800
    outcomes = conn.execute("SELECT DISTINCT outcome::text FROM editroom.edit_attempts").fetchall()
    assert {row["outcome"] for row in outcomes} >= {"completed", "error", "failed", "cancelled"}


def act(conn: Conn, action: str, edit_id: UUID, worker: str) -> None:
    if action == "complete":
        conn.execute("SELECT editroom.complete_edit(%s, %s, '{}')", [edit_id, worker])
    elif action in ("fail", "fail_final"):
        conn.execute(
            "SELECT editroom.fail_edit(%s, %s, 'churn', %s)", [edit_id, worker, action == "fail"]
        )
    elif action == "cancel":
        conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])


def retry_some(conn: Conn) -> None:
    rows = conn.execute(
        "SELECT id FROM editroom.edits WHERE status IN ('failed', 'cancelled') LIMIT 3"
    ).fetchall()
    for row in rows:
        with contextlib.suppress(errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT editroom.retry_edit(%s)", [row["id"]])
