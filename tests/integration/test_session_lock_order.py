"""Whatever ends a session's step takes the session first, then the step
(db/functions/020_held_edits.sql, lock_sessions_of). Each test holds a session's lock as a
canceller or a completion does at its start, lets another function that ends steps run into
it, and then has the holder take the step: were that function holding the step while it waits
for the session, PostgreSQL would find a deadlock and abort one of the two."""

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue import Conn, insert_media
from tests.waiting import eventually


@pytest.fixture
def conns(database_url: str) -> Iterator[tuple[Conn, Conn, Conn]]:
    """The session's holder (in a transaction), the function run into it, and a watcher."""

    def connect(*, autocommit: bool) -> Conn:
        return psycopg.connect(database_url, autocommit=autocommit, row_factory=dict_row)

    with (
        connect(autocommit=False) as holder,
        connect(autocommit=True) as other,
        connect(autocommit=True) as watcher,
    ):
        yield holder, other, watcher


def session_step(conn: Conn) -> tuple[UUID, UUID]:
    media = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [media]).fetchone()
    assert session is not None
    step = conn.execute(
        "SELECT id FROM editroom.enqueue_edit(NULL, %s, p_session_id => %s)",
        [Jsonb([]), session["id"]],
    ).fetchone()
    assert step is not None
    return session["id"], step["id"]


def held_by_a_vanished_runner(conn: Conn, step: UUID) -> None:
    conn.execute(
        """UPDATE editroom.edits
              SET status = 'processing', trial = 1, locked_by = 'vanished',
                  lease_until = now() - interval '1 minute', started_at = now()
            WHERE id = %s""",
        [step],
    )


def run_into_the_session(
    holder: Conn, other: Conn, watcher: Conn, *, session: UUID, run: Callable[[], Any],
    then: Callable[[], Any],
) -> Any:  # fmt: skip
    """`holder` takes the session; `run` (on `other`, in a thread) waits for it; `then` (on
    `holder`) takes the step; both must finish without a deadlock. Returns what `run` gave."""
    holder.execute("SELECT editroom.lock_session(%s)", [session])
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(_caught(run)))
    thread.start()
    pid = other.info.backend_pid
    eventually(
        lambda: watcher.execute(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", [pid]
        ).fetchone(),
        what="the other function waiting for the session",
    )
    then()
    holder.commit()
    thread.join(timeout=30)
    (answer,) = answers
    if isinstance(answer, Exception):
        raise answer
    return answer


def _caught(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except Exception as exc:  # re-raised in the test's thread
        return exc


def test_the_reaper_waits_for_a_session_before_taking_its_expired_step(
    conns: tuple[Conn, Conn, Conn],
) -> None:
    holder, other, watcher = conns
    session, step = session_step(watcher)
    held_by_a_vanished_runner(watcher, step)
    reaped = run_into_the_session(
        holder, other, watcher, session=session,
        run=lambda: other.execute("SELECT editroom.reap_expired_leases() AS n").fetchone(),
        then=lambda: holder.execute("SELECT editroom.cancel_edit(%s)", [step]),
    )  # fmt: skip
    status = watcher.execute("SELECT status FROM editroom.edits WHERE id = %s", [step])
    assert (reaped, status.fetchone()) == ({"n": 0}, {"status": "cancelled"})


def test_a_retry_waits_for_its_session_before_taking_its_step(
    conns: tuple[Conn, Conn, Conn],
) -> None:
    holder, other, watcher = conns
    session, step = session_step(watcher)
    watcher.execute("SELECT editroom.cancel_edit(%s)", [step])
    retried = run_into_the_session(
        holder, other, watcher, session=session,
        run=lambda: other.execute(
            "SELECT status FROM editroom.retry_edit(%s)", [step]
        ).fetchone(),
        then=lambda: holder.execute(
            "SELECT status FROM editroom.edits WHERE id = %s FOR NO KEY UPDATE", [step]
        ),
    )  # fmt: skip
    assert retried == {"status": "queued"}


def test_deleting_an_original_waits_for_a_step_being_added_to_its_session(
    conns: tuple[Conn, Conn, Conn],
) -> None:
    """Adding a step holds its session, then reads its head media (its foreign key): deleting
    that media took the media, then its session, and the two deadlocked."""
    holder, other, watcher = conns
    original = insert_media(watcher)
    session = watcher.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="is queued"):
        run_into_the_session(
            holder, other, watcher, session=session["id"],
            run=lambda: other.execute("SELECT editroom.delete_media(%s)", [original]),
            then=lambda: holder.execute(
                "SELECT editroom.enqueue_edit(NULL, %s, p_session_id => %s)",
                [Jsonb([]), session["id"]],
            ),
        )  # fmt: skip
