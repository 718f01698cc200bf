"""A read of a session costs the same however many of its steps wait to run: whether it is
busy is one probe; what the steps are is read only to plan the next one."""

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from service.kernel.db import QUERIES_FILE, load_queries
from tests.queue import Conn, buffers, insert_media

PENDING_STEPS = 3000
# A step's operations as a long edit writes them: what the read used to gather for each.
OPS = [{"op": "text", "text": "caption " * 20, "size": 24}, {"op": "flip", "direction": "h"}]


def session_with_pending_steps(conn: Conn, steps: int) -> UUID:
    """A session whose `steps` steps are all queued, each after the one before."""
    original = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    conn.execute(
        """WITH made AS (SELECT g, gen_random_uuid() AS id FROM generate_series(1, %(n)s) g)
           INSERT INTO editroom.edits (id, media_id, ops, session_id, session_step,
                                       parent_edit_id, blocked_by, kind)
           SELECT id, CASE WHEN g = 1 THEN %(media)s::uuid END, %(ops)s, %(session)s, g,
                  lag(id) OVER (ORDER BY g), lag(id) OVER (ORDER BY g), 'image'
             FROM made""",
        {"n": steps, "media": original, "ops": Jsonb(OPS), "session": session["id"]},
    )
    return UUID(str(session["id"]))


def state_read(conn: Conn, session_id: UUID) -> str:
    """GET /sessions/{id}'s read of the session's state, its parameters written in."""
    arguments = {"id": session_id, "media_id": None, "after_at": None, "after_id": None,
                 "limit": 1}  # fmt: skip
    query = load_queries(QUERIES_FILE)["session_states"]
    return psycopg.ClientCursor(conn).mogrify(query, arguments)


def test_a_session_read_costs_the_same_with_thousands_of_steps_waiting(conn: Conn) -> None:
    short = session_with_pending_steps(conn, 1)
    long = session_with_pending_steps(conn, PENDING_STEPS)
    conn.execute("VACUUM ANALYZE editroom.edits")
    state: dict[str, Any] | None = conn.execute(state_read(conn, long)).fetchone()
    assert state is not None and state["busy"] and not state["can_undo"]

    one = buffers(conn, state_read(conn, short))
    thousands = buffers(conn, state_read(conn, long))

    print(f"a session's read: one step waiting {one} buffers, {PENDING_STEPS:,}: {thousands}")
    # Gathering every waiting step's operations read each of their rows: over a hundred pages.
    assert thousands <= one + 5


def test_planning_a_step_still_reads_every_step_waiting(conn: Conn) -> None:
    """The next step's kind follows from all of them: planning is what reads them."""
    session = session_with_pending_steps(conn, 3)
    plan = conn.execute(load_queries(QUERIES_FILE)["session_plan"], {"id": session}).fetchone()
    assert plan is not None
    assert plan["pending_ops"] == [OPS] * 3
    tip = conn.execute(
        "SELECT id FROM editroom.edits WHERE session_id = %s AND session_step = 3", [session]
    ).fetchone()
    assert tip is not None and plan["next_follows_edit_id"] == tip["id"]
