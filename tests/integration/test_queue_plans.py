"""The claim and the oldest-claimable age stay on the claimable index however long the finished
history grows: the shared predicate editroom.edit_claimable is inlined, so the planner still
proves the partial index's condition. Edits waiting out a back-off sort after every due edit of
their priority (the index is ordered by run_after), so a claim does not read them."""

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tests.queue import Conn, claim, insert_media

FINISHED = 10_000
QUEUED = 20
CLAIMABLE_INDEX = "edits_claimable_idx"

# The statement claim_edits runs (db/functions/110_claim_edits.sql), for EXPLAIN to show.
CLAIM_SHAPE = """
SELECT e.id
  FROM editroom.edits e
 WHERE editroom.edit_claimable(e.status, e.blocked_by, e.run_after)
 ORDER BY e.priority DESC, e.run_after, e.id
 LIMIT 5
   FOR UPDATE SKIP LOCKED
"""


@pytest.fixture
def long_history(conn: Conn) -> Conn:
    media = insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at)
           SELECT %s, %s, 'completed', 1, now() FROM generate_series(1, %s)""",
        [media, Jsonb([]), FINISHED],
    )
    conn.execute(
        "INSERT INTO editroom.edits (media_id, ops) SELECT %s, %s FROM generate_series(1, %s)",
        [media, Jsonb([]), QUEUED],
    )
    conn.execute("ANALYZE editroom.edits")
    return conn


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def scans_of_edits(conn: Conn) -> dict[str, int]:
    """Scans of editroom.edits in the current transaction, sequential and by the claimable index."""
    row = conn.execute(
        """SELECT pg_stat_get_xact_numscans('editroom.edits'::regclass) AS seq_scan,
                  pg_stat_get_xact_numscans(%s::regclass) AS idx_scan""",
        [f"editroom.{CLAIMABLE_INDEX}"],
    ).fetchone()
    assert row is not None
    return {"seq": row["seq_scan"], "claimable_index": row["idx_scan"]}


def test_the_claim_plan_walks_the_claimable_index(long_history: Conn) -> None:
    row = long_history.execute(f"EXPLAIN (FORMAT JSON) {CLAIM_SHAPE}").fetchone()
    assert row is not None
    nodes = list(plan_nodes(row["QUERY PLAN"][0]["Plan"]))
    assert CLAIMABLE_INDEX in {node.get("Index Name") for node in nodes}, nodes
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
    assert "edit_claimable" not in str(nodes)  # inlined, not called row by row


def test_claim_edits_reads_no_finished_edit(long_history: Conn) -> None:
    # The function itself, not a copy of its statement: this transaction's scan counters.
    with long_history.transaction():
        assert len(claim(long_history, "w", limit=5)) == 5
        scans = scans_of_edits(long_history)
    assert scans["seq"] == 0
    assert scans["claimable_index"] >= 1


def test_the_oldest_claimable_age_reads_no_finished_edit(long_history: Conn) -> None:
    with long_history.transaction():
        long_history.execute("SELECT editroom.oldest_claimable_seconds()")
        scans = scans_of_edits(long_history)
    assert scans["seq"] == 0
    assert scans["claimable_index"] >= 1


BACKING_OFF = 10_000
MANY_FINISHED = 50_000  # what builds in a few seconds here; production holds millions
BUFFERS_PER_CLAIM_OF_10 = 40  # measured 13: index root and leaves, ten heap pages


@pytest.fixture(scope="module")
def backing_off(module_database_url: str) -> Iterator[Conn]:
    """MANY_FINISHED finished edits, BACKING_OFF older edits waiting out a back-off, and a few
    newer queued ones: made once for the module (seconds to build), each test rolling back
    what it does."""
    with psycopg.connect(module_database_url, autocommit=True, row_factory=dict_row) as conn:
        yield backing_off_edits(conn)


def backing_off_edits(conn: Conn) -> Conn:
    media = insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at, created_at)
           SELECT %s, %s, 'completed', 1, now(), now() - interval '2 days'
             FROM generate_series(1, %s)""",
        [media, Jsonb([]), MANY_FINISHED],
    )
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, error, run_after, created_at)
           SELECT %s, %s, 'error', 1, 'flaky', now() + interval '1 hour',
                  now() - interval '1 day'
             FROM generate_series(1, %s)""",
        [media, Jsonb([]), BACKING_OFF],
    )
    conn.execute(
        "INSERT INTO editroom.edits (media_id, ops) SELECT %s, %s FROM generate_series(1, %s)",
        [media, Jsonb([]), QUEUED],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    return conn


def test_a_claim_reads_buffers_for_what_it_claims_not_for_edits_in_back_off(
    backing_off: Conn,
) -> None:
    shape = CLAIM_SHAPE.replace("LIMIT 5", "LIMIT 10")
    with backing_off.transaction(force_rollback=True):
        row = backing_off.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {shape}").fetchone()
    assert row is not None
    plan = row["QUERY PLAN"][0]["Plan"]
    buffers = plan["Shared Hit Blocks"] + plan["Shared Read Blocks"]
    assert plan["Actual Rows"] == 10
    assert buffers <= BUFFERS_PER_CLAIM_OF_10, plan


def test_claim_edits_takes_due_edits_past_those_in_back_off(backing_off: Conn) -> None:
    with backing_off.transaction(force_rollback=True):
        claimed = claim(backing_off, "w", limit=10)
        scans = scans_of_edits(backing_off)
    assert [row["trial"] for row in claimed] == [1] * 10  # the queued ones, in their first trial
    assert scans["seq"] == 0


# The statement lock_sessions_of runs (db/functions/020_held_edits.sql) as PL/pgSQL runs it:
# prepared, with the edits' ids as its parameter. Every completion, failure, cancel and retry
# runs it first.
LOCK_SESSIONS_SHAPE = """
SELECT 1
  FROM editroom.sessions s
 WHERE s.id = ANY (ARRAY(SELECT e.session_id FROM editroom.edits e
                          WHERE e.id = ANY ($1::uuid[]) AND e.session_id IS NOT NULL))
 ORDER BY s.id
   FOR UPDATE
"""
PLANS_BEFORE_GENERIC = 5  # PostgreSQL plans a prepared statement afresh this many times first


def test_locking_the_sessions_of_edits_keeps_its_plan(conn: Conn) -> None:
    """Its plan is made once for the session, not again at each call: planned afresh (as the
    IN (subquery) form was, every time), it cost a completion some 0.15 ms."""
    source = conn.execute(
        "SELECT prosrc FROM pg_proc WHERE oid = 'editroom.lock_sessions_of'::regproc"
    ).fetchone()
    assert source is not None
    ran = LOCK_SESSIONS_SHAPE.replace("SELECT 1", "PERFORM 1").replace("$1::uuid[]", "p_edit_ids")
    assert _words(ran) in _words(source["prosrc"])  # this is the statement the function runs
    conn.execute(f"PREPARE lock_sessions (uuid[]) AS {LOCK_SESSIONS_SHAPE}")
    for _ in range(PLANS_BEFORE_GENERIC + 5):
        conn.execute("EXECUTE lock_sessions (ARRAY[gen_random_uuid()])")
    row = conn.execute(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
        "WHERE name = 'lock_sessions'"
    ).fetchone()
    assert row is not None
    assert row["generic_plans"] >= 5, row


def _words(sql: str) -> str:
    return " ".join(sql.split())
