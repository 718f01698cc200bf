"""History at scale: archiving reads the rows it moves, never the session steps kept in edits;
retention costs the same whatever a day holds; monitoring's quantiles never read edits."""

from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from service.kernel.db import QUERIES_FILE, load_queries
from tests.queue import Conn, buffers, insert_media

KEPT_STEPS = 50_000
OLD_EDITS = 2_000
BATCH = 100


@pytest.fixture
def kept_steps(conn: Conn) -> Conn:
    """A session keeping KEPT_STEPS finished steps (its undo chain), finished long ago."""
    source = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [source]).fetchone()
    assert session is not None
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at, session_id,
                                       session_step, outputs)
           SELECT %s, %s, 'completed', 1, now() - interval '40 days', %s, g, ARRAY[%s]::uuid[]
             FROM generate_series(1, %s) g""",
        [source, Jsonb([]), session["id"], source, KEPT_STEPS],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    return conn


def old_edits(conn: Conn, count: int, age: str) -> None:
    source = insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at)
           SELECT %s, %s, 'completed', 1, now() - %s::interval FROM generate_series(1, %s)""",
        [source, Jsonb([]), age, count],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")


def test_archiving_reads_no_kept_session_step(kept_steps: Conn) -> None:
    conn = kept_steps
    conn.execute("SELECT editroom.archive_finished_edits('1 hour', 100)")  # compiles it
    nothing = buffers(conn, "SELECT editroom.archive_finished_edits('1 hour', 100)")
    old_edits(conn, OLD_EDITS, "40 days")
    conn.execute("SELECT editroom.archive_finished_edits('1 hour', 1)")  # makes the day
    batch = buffers(conn, f"SELECT editroom.archive_finished_edits('1 hour', {BATCH})")
    print(f"archive: nothing to do {nothing} buffers; a batch of {BATCH}: {batch}")
    # The row-by-row prune read a buffer per kept step (50,000) on every call.
    assert nothing < 50
    assert batch < BATCH * 40
    plan = conn.execute(
        """EXPLAIN (FORMAT JSON)
           SELECT e.id FROM editroom.edits e
            WHERE e.status IN ('completed', 'failed', 'cancelled') AND e.session_id IS NULL
              AND e.finished_at < now() - interval '1 hour'
            ORDER BY e.finished_at LIMIT 100 FOR UPDATE SKIP LOCKED"""
    ).fetchone()
    assert plan is not None
    assert "edits_archivable_idx" in str(plan["QUERY PLAN"])
    assert "Seq Scan" not in str(plan["QUERY PLAN"])


def test_deleting_a_media_reads_no_kept_session_step(kept_steps: Conn) -> None:
    """Whether a step of a session made it is asked of the steps' outputs' index: the
    question read every session step of every session, under the media's lock."""
    conn = kept_steps
    conn.execute("SELECT editroom.delete_media(%s)", [insert_media(conn)])  # compiles it

    read = buffers(conn, f"SELECT editroom.delete_media('{insert_media(conn)}')")

    assert read < 100, f"{read} buffers to delete one media"


def test_retention_costs_the_same_for_a_day_of_ten_or_of_thousands(conn: Conn) -> None:
    old_edits(conn, 10, "40 days")
    old_edits(conn, OLD_EDITS * 2, "35 days")
    while conn.execute(
        "SELECT editroom.archive_finished_edits('1 hour', 1000) AS n"
    ).fetchone() != {"n": 0}:
        pass
    conn.execute("SELECT editroom.prune_finished_edits('60 days')")  # warm the catalogs
    small = buffers(conn, "SELECT editroom.prune_finished_edits('38 days')")
    large = buffers(conn, "SELECT editroom.prune_finished_edits('30 days')")
    print(f"prune: a day of 10 edits {small} buffers; a day of {OLD_EDITS * 2}: {large}")
    assert large < small + 300
    total = conn.execute("SELECT count(*) AS n FROM editroom.all_edits").fetchone()
    assert total == {"n": 0}
    counts = conn.execute("SELECT sum(count) AS n FROM editroom.status_counts()").fetchone()
    assert counts == {"n": 0}


def scans(conn: Conn, relation: str) -> int:
    row = conn.execute("SELECT pg_stat_get_xact_numscans(%s::regclass) AS n", [relation]).fetchone()
    assert row is not None
    return int(row["n"])


def test_quantiles_read_recent_attempts_only(conn: Conn, database_url: str) -> None:
    old_edits(conn, 20, "10 days")
    conn.execute("SELECT editroom.archive_finished_edits('1 hour')")
    conn.execute(
        """SELECT editroom.add_history_partition(
                      ((now() - interval '1 minute') AT TIME ZONE 'UTC')::date)"""
    )
    conn.execute(
        """INSERT INTO editroom.edit_attempt_history (edit_id, trial, worker, started_at,
                                                      finished_at, outcome, kind)
           SELECT gen_random_uuid(), 1, 'w', now() - interval '10 days 1 second',
                  now() - interval '10 days', 'completed', 'image' FROM generate_series(1, 20000)"""
    )
    conn.execute(
        """INSERT INTO editroom.edit_attempt_history (edit_id, trial, worker, started_at,
                                                      finished_at, outcome, kind)
           SELECT gen_random_uuid(), 1, 'w', now() - interval '62 seconds',
                  now() - interval '60 seconds', 'completed', 'video'
             FROM generate_series(1, 3)"""
    )
    conn.execute("ANALYZE editroom.edit_attempt_history")
    old_day = conn.execute(
        """SELECT 'editroom.edit_attempt_history_p'
                  || to_char(((now() - interval '10 days') AT TIME ZONE 'UTC')::date, 'YYYYMMDD')
                  AS name"""
    ).fetchone()
    assert old_day is not None
    # A connection of its own: a backend's scan counters include its earlier transactions'
    # until they are flushed.
    with psycopg.connect(database_url, row_factory=dict_row) as monitor:
        rows: list[dict[str, Any]] = monitor.execute(
            "SELECT * FROM editroom.attempt_duration_quantiles('5 minutes')"
        ).fetchall()
        assert scans(monitor, "editroom.edits") == 0
        assert scans(monitor, old_day["name"]) == 0
        assert scans(monitor, "editroom.edit_attempts") >= 1  # it did read attempts
    assert {(r["kind"], r["outcome"]) for r in rows} == {("video", "completed")}
    assert rows[0]["seconds"] == pytest.approx(2.0, abs=0.1)
    conn.execute("SELECT * FROM editroom.attempt_duration_quantiles('5 minutes')")  # warm
    cost = buffers(conn, "SELECT * FROM editroom.attempt_duration_quantiles('5 minutes')")
    print(f"quantiles over 20,003 archived attempts, 3 recent: {cost} buffers")
    assert cost < 100


def test_finding_a_live_edit_reads_no_history(conn: Conn) -> None:
    for age in range(1, 31):
        old_edits(conn, 20, f"{age} days")
    while conn.execute("SELECT editroom.archive_finished_edits('1 hour') AS n").fetchone() != {
        "n": 0
    }:
        pass
    source = insert_media(conn)
    live = conn.execute("SELECT id FROM editroom.enqueue_edit(%s, '[]')", [source]).fetchone()
    archived = conn.execute("SELECT id FROM editroom.edit_history LIMIT 1").fetchone()
    assert live is not None and archived is not None
    costs = {}
    for name, row in (("live", live), ("archived", archived)):
        statement = f"SELECT * FROM editroom.find_edit('{row['id']}')"
        assert conn.execute(statement).fetchone()["id"] == row["id"]  # type: ignore[index]
        costs[name] = buffers(conn, statement)
    print(f"find_edit beside 30 days of history: {costs}")
    assert costs["live"] < 20  # the primary key of edits, never a day of history
    assert costs["archived"] < 5 * 31  # an index probe per day kept


def test_a_page_of_the_listing_reads_a_few_rows_per_day(conn: Conn) -> None:
    for age in range(1, 11):
        old_edits(conn, 2_000, f"{age} days")
    while conn.execute(
        "SELECT editroom.archive_finished_edits('1 hour', 5000) AS n"
    ).fetchone() != {"n": 0}:
        pass
    # The rows archiving left dead in edits are vacuum's (autovacuum is aggressive on edits).
    conn.execute("VACUUM ANALYZE editroom.edits")
    conn.execute("ANALYZE editroom.edit_history")
    last = conn.execute(
        "SELECT created_at, id FROM editroom.all_edits ORDER BY created_at DESC, id DESC"
        " LIMIT 1 OFFSET 3000"
    ).fetchone()
    assert last is not None
    first_page = "SELECT * FROM editroom.list_edits(p_limit => 20)"
    later_page = f"""SELECT * FROM editroom.list_edits(p_status => 'completed', p_limit => 20,
                         p_after_at => '{last["created_at"].isoformat()}',
                         p_after_id => '{last["id"]}')"""
    conn.execute(first_page)  # this connection's catalog caches, warm
    conn.execute(later_page)
    first = buffers(conn, first_page)
    later = buffers(conn, later_page)
    print(f"a page of 20 beside 10 days of 2,000 archived edits: first {first}, later {later}")
    # Every day's index merged in order: a few pages each, never all 20,000 rows sorted.
    assert first < 20 * 11
    assert later < 20 * 11


def copies_and_named(conn: Conn, *, days: int, copies: int, named: int) -> None:
    """Per day, `copies` edits made by result addresses (thumbnails) and, older than all of
    them, `named` edits asked for by name, every one archived; `copies` result media and
    `named` results of named edits in the library, the named ones older."""
    source = insert_media(conn)
    for day in range(1, days + 1):
        conn.execute(
            """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at,
                                           created_at, by_address)
               SELECT %(source)s, '[]', 'completed', 1, now() - %(day)s * interval '1 day',
                      now() - %(day)s * interval '1 day' - g * interval '1 second',
                      g <= %(copies)s
                 FROM generate_series(1, %(copies)s + %(named)s) g""",
            {"source": source, "day": day, "copies": copies, "named": named},
        )
    conn.execute(
        """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key,
                                       uploaded_at, origin, by_address)
           SELECT 'image', 'image/webp', 1, md5(g::text) || md5(g::text), 'copy/' || g,
                  now() - g * interval '1 second', 'edit', g <= %(copies)s
             FROM generate_series(1, %(copies)s + %(named)s) g""",
        {"copies": copies * days, "named": named * days},
    )
    while conn.execute(
        "SELECT editroom.archive_finished_edits('1 hour', 5000) AS n"
    ).fetchone() != {"n": 0}:
        pass
    conn.execute("VACUUM ANALYZE editroom.edits")
    conn.execute("ANALYZE editroom.edit_history")
    conn.execute("ANALYZE editroom.media")


def test_a_page_without_the_copies_never_walks_past_them(conn: Conn) -> None:
    """The queue lists edits not made by addresses: 20,000 thumbnails newer than every edit
    asked for by name are not read to find a page of those."""
    copies_and_named(conn, days=10, copies=2_000, named=5)
    first_page = "SELECT * FROM editroom.list_edits(p_by_address => false, p_limit => 20)"
    rows = conn.execute(first_page).fetchall()
    assert len(rows) == 20 and not any(row["by_address"] for row in rows)
    last = rows[-1]
    later_page = f"""SELECT * FROM editroom.list_edits(p_by_address => false, p_limit => 20,
                         p_after_at => '{last["created_at"].isoformat()}',
                         p_after_id => '{last["id"]}')"""
    later_rows = conn.execute(later_page).fetchall()
    assert len(later_rows) == 20 and later_rows[0]["created_at"] <= last["created_at"]
    first = buffers(conn, first_page)
    later = buffers(conn, later_page)
    # GET /bucket/upload?by_address=false's query, its parameters written in (a custom plan)
    arguments = {"kind": None, "origin": None, "by_address": False, "since": None,
                 "before": None, "after_at": None, "after_id": None, "limit": 21}  # fmt: skip
    library_page = psycopg.ClientCursor(conn).mogrify(
        load_queries(QUERIES_FILE)["list_media"], arguments
    )
    assert len(conn.execute(library_page).fetchall()) == 21
    library = buffers(conn, library_page)
    print(f"a page of 20 named edits beside 20,000 copies: first {first}, later {later}; "
          f"the library's: {library}")  # fmt: skip
    assert first < 20 * 11
    assert later < 20 * 11
    assert library < 50
