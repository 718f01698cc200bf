"""Two steps asked of one session at once. A step is planned from the session as it was read
(the kind it reads, whether it has a picture, its operations parsed for that kind), so it is
made only if the session is still as it was then: editroom.enqueue_session_edit compares the
step it would follow with the one the caller saw, under the session's lock. The later of two
is then planned again against the step that won."""

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue import Conn, insert_media
from tests.waiting import eventually

ADD_STEP = """SELECT (s.edit).id, s.follows_edit_id
                FROM editroom.enqueue_session_edit(%s, %s, %s) AS s"""


def open_session(conn: Conn) -> UUID:
    row = conn.execute("SELECT id FROM editroom.open_session(%s)", [insert_media(conn)])
    found = row.fetchone()
    assert found is not None
    return UUID(str(found["id"]))


def add_step(conn: Conn, session: UUID, follows: UUID | None) -> dict[str, Any]:
    row = conn.execute(ADD_STEP, [session, Jsonb([]), follows]).fetchone()
    assert row is not None
    return row


def steps(conn: Conn, session: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, session_step, parent_edit_id, blocked_by FROM editroom.edits
            WHERE session_id = %s ORDER BY session_step""",
        [session],
    ).fetchall()


def test_a_stale_expectation_makes_nothing_and_the_current_one_makes_the_step(
    conn: Conn,
) -> None:
    session = open_session(conn)
    first = add_step(conn, session, None)
    assert first["id"] is not None and first["follows_edit_id"] is None

    stale = add_step(conn, session, None)  # as if the session were still at its original
    assert stale == {"id": None, "follows_edit_id": first["id"]}

    second = add_step(conn, session, first["id"])
    assert second["id"] is not None and second["follows_edit_id"] == first["id"]
    assert steps(conn, session) == [
        {"id": first["id"], "session_step": 1, "parent_edit_id": None, "blocked_by": None},
        {"id": second["id"], "session_step": 2, "parent_edit_id": first["id"],
         "blocked_by": first["id"]},
    ]  # fmt: skip


def test_a_step_added_meanwhile_is_waited_for_then_refuses_the_other(
    conn: Conn, database_url: str
) -> None:
    """Both callers saw the session at its original; the first holds its step uncommitted.
    The second waits for the session's lock, and then finds a step it did not plan after."""
    session = open_session(conn)
    with psycopg.connect(database_url, row_factory=dict_row) as holder:
        winner = add_step(holder, session, None)  # its transaction stays open
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(add_step_on_its_own, database_url, session, None)
            eventually(lambda: waiting_for_a_lock(conn), what="the second step to wait")
            holder.commit()
            assert later.result(timeout=10) == {"id": None, "follows_edit_id": winner["id"]}
    assert [step["id"] for step in steps(conn, session)] == [winner["id"]]


def add_step_on_its_own(database_url: str, session: UUID, follows: UUID | None) -> Any:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return add_step(conn, session, follows)


def waiting_for_a_lock(conn: Conn) -> bool:
    row = conn.execute(
        """SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'"""
    ).fetchone()
    return row is not None and row["n"] > 0


def test_the_step_followed_completing_keeps_the_expectation_and_failing_ends_it(
    conn: Conn,
) -> None:
    session = open_session(conn)
    first = add_step(conn, session, None)
    finish(conn, first["id"], outputs=[insert_media(conn)])
    # It became the head: a step planned while it ran still follows it.
    second = add_step(conn, session, first["id"])
    assert second["id"] is not None
    finish(conn, second["id"], outputs=None)
    # The step it would have followed failed: it would read the head instead.
    assert add_step(conn, session, second["id"]) == {"id": None, "follows_edit_id": first["id"]}


def finish(conn: Conn, edit_id: UUID, *, outputs: list[UUID] | None) -> None:
    """Claim edit_id, then complete it with outputs, or (None) fail it for good."""
    assert conn.execute("SELECT editroom.claim_edit(%s, 'stepper')", [edit_id]).fetchone()
    if outputs is None:
        conn.execute("SELECT editroom.fail_edit(%s, 'stepper', 'broken', false)", [edit_id])
    else:
        conn.execute("SELECT editroom.complete_edit(%s, 'stepper', %s)", [edit_id, outputs])
