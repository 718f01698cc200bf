"""Archiving racing the queue's own transitions, on real connections: retries that bring
archived edits back, cancels, completions. No edit or attempt is lost or doubled, and the
counters stay equal to a count of what exists."""

import threading
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg import errors
from psycopg.rows import dict_row

from tests.queue import Conn, claim, disable_backoff, enqueue, insert_media, status_counts

EDITS = 40
SECONDS = 4.0


def connect(database_url: str) -> Conn:
    return psycopg.connect(database_url, autocommit=True, row_factory=dict_row)


def loop(until: float, work: Callable[[], None], failures: list[BaseException]) -> None:
    try:
        while time.monotonic() < until:
            work()
    except BaseException as exc:  # reported by the test, not lost in a thread
        failures.append(exc)


def test_archiving_races_retry_cancel_and_complete(conn: Conn, database_url: str) -> None:
    disable_backoff(conn)
    source = insert_media(conn)
    retried = [enqueue(conn, source, max_trials=1)["id"] for _ in range(EDITS)]
    held = [enqueue(conn, source)["id"] for _ in range(EDITS)]
    to_cancel = [enqueue(conn, source)["id"] for _ in range(EDITS)]
    claim(conn, "w", limit=2 * EDITS)  # the oldest first: retried, then held
    for edit_id in retried:
        # Retryable failures on their last trial: retry_edit takes them (not one that fails alike).
        conn.execute("SELECT editroom.fail_edit(%s, 'w', 'first', true)", [edit_id])
    done: dict[str, int] = {"retries": 0, "archived": 0, "completed": 0, "cancelled": 0}
    failures: list[BaseException] = []
    until = time.monotonic() + SECONDS

    def archiver(db: Conn) -> Callable[[], None]:
        # Making today's partition may time out while the others read history: a round
        # that moves nothing, as a runner's would be.
        def work() -> None:
            row = db.execute("SELECT editroom.archive_finished_edits('0 seconds', 7) AS n")
            done["archived"] += row.fetchone()["n"]  # type: ignore[index]

        return work

    def retrier(db: Conn) -> Callable[[], None]:
        def work() -> None:
            for edit_id in retried:
                try:
                    db.execute("SELECT editroom.retry_edit(%s)", [edit_id])
                except errors.ObjectNotInPrerequisiteState:
                    continue  # not failed right now
                done["retries"] += 1
                row = db.execute(
                    "SELECT trial FROM editroom.claim_edit(%s, 'r')", [edit_id]
                ).fetchone()
                if row is not None:
                    db.execute(
                        "SELECT editroom.fail_edit(%s, 'r', 'again', true, %s)",
                        [edit_id, row["trial"]],
                    )

        return work

    def completer(db: Conn) -> Callable[[], None]:
        def work() -> None:
            for edit_id in held:
                try:
                    db.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])
                    done["completed"] += 1
                except errors.ObjectNotInPrerequisiteState:
                    pass  # completed already (the error names its status)
                except errors.NoDataFound:
                    pass  # archived since: complete_edit reads edits only
            time.sleep(0.01)

        return work

    def canceller(db: Conn) -> Callable[[], None]:
        def work() -> None:
            for edit_id in to_cancel + held:
                try:
                    status = db.execute("SELECT status FROM editroom.cancel_edit(%s)", [edit_id])
                    if status.fetchone() == {"status": "cancelled"}:
                        done["cancelled"] += 1
                except errors.ObjectNotInPrerequisiteState:
                    pass  # completed: it can no longer be cancelled

        return work

    connections = [connect(database_url) for _ in range(4)]
    threads = [
        threading.Thread(target=loop, args=(until, make(db), failures))
        for make, db in zip((archiver, retrier, completer, canceller), connections, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in connections:
        db.close()
    assert not failures, failures
    while conn.execute("SELECT editroom.archive_finished_edits('0 seconds') AS n").fetchone() != {
        "n": 0
    }:
        pass

    assert done["retries"] > EDITS and done["archived"] > 3 * EDITS, done
    every = retried + held + to_cancel
    placed = conn.execute(
        """SELECT id, count(*) AS copies FROM (
               SELECT id FROM editroom.edits UNION ALL SELECT id FROM editroom.edit_history) a
            GROUP BY id""",
    ).fetchall()
    assert sorted(str(r["id"]) for r in placed) == sorted(str(e) for e in every)
    assert {r["copies"] for r in placed} == {1}
    assert_attempts_whole(conn, every)
    counted = conn.execute(
        """SELECT s.status::text AS status, count(a.id) AS n
             FROM unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
             LEFT JOIN editroom.all_edits a ON a.status = s.status GROUP BY s.status"""
    ).fetchall()
    assert status_counts(conn) == {r["status"]: r["n"] for r in counted}


def assert_attempts_whole(conn: Conn, every: list[UUID]) -> None:
    """Each edit has exactly one attempt per trial it was claimed in, wherever they are."""
    rows: list[dict[str, Any]] = conn.execute(
        """SELECT a.id, a.trial, count(t.trial) AS attempts, count(DISTINCT t.trial) AS trials
             FROM editroom.all_edits a
             LEFT JOIN (SELECT edit_id, trial FROM editroom.edit_attempts
                        UNION ALL
                        SELECT edit_id, trial FROM editroom.edit_attempt_history) t
               ON t.edit_id = a.id
            WHERE a.id = ANY(%s)
            GROUP BY a.id, a.trial""",
        [every],
    ).fetchall()
    wrong = [r for r in rows if not r["attempts"] == r["trials"] == r["trial"]]
    assert not wrong, wrong
