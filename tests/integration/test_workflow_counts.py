"""A workflow's executions counted by counters the triggers keep (as status_counts() is): the
same numbers as a count of its edits, whatever runs at once, however they are archived and
pruned; and a read of them that never reads an edit."""

import threading
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from service.kernel.db import QUERIES_FILE, load_queries
from tests.queue import Conn, buffers, insert_media

RUNNERS = 4
ROUNDS = 15
BATCH = 6
EXECUTIONS = 30_000


def create_workflow(conn: Conn, name: str) -> UUID:
    row = conn.execute(
        """SELECT (c.workflow).id FROM editroom.create_workflow(
               %s, %s, ARRAY['image']::editroom.media_kind[]) AS c""",
        [name, Jsonb([{"op": "flip", "direction": "h"}])],
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def counted(conn: Conn, workflow_id: UUID) -> dict[str, int]:
    """What GET /workflows/{id}/executions reads."""
    query = load_queries(QUERIES_FILE)["workflow_status_counts"]
    return {r["status"]: r["count"] for r in conn.execute(query, {"id": workflow_id})}


def kept(conn: Conn, workflow_id: UUID) -> dict[str, int]:
    """The counters' rows, added up, statuses with none left out."""
    rows = conn.execute(
        """SELECT status::text, sum(n)::bigint AS n FROM editroom.workflow_edit_counts
            WHERE workflow_id = %s GROUP BY status HAVING sum(n) <> 0""",
        [workflow_id],
    )
    return {r["status"]: r["n"] for r in rows}


def truth(conn: Conn, workflow_id: UUID) -> dict[str, int]:
    rows = conn.execute(
        """SELECT status::text, count(*) AS n FROM editroom.all_edits
            WHERE workflow_id = %s GROUP BY status""",
        [workflow_id],
    )
    return {r["status"]: r["n"] for r in rows}


def assert_counted_right(conn: Conn, workflows: list[UUID]) -> None:
    for workflow_id in workflows:
        real = truth(conn, workflow_id)
        assert kept(conn, workflow_id) == real
        assert {s: n for s, n in counted(conn, workflow_id).items() if n} == real
        assert len(counted(conn, workflow_id)) == 6  # every status, zeros included


def runner(database_url: str, number: int, workflows: list[UUID], media: list[UUID]) -> None:
    """Runs each workflow on a batch each round (cancelling one of the new edits in the same
    transaction), then claims a few of whatever is queued, of both workflows in one statement,
    and completes one and fails another: statements of several workflows and statuses at once,
    crossing the other runners'."""
    worker = f"runner-{number}"
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        for round_ in range(ROUNDS):
            for workflow_id in workflows if (number + round_) % 2 else workflows[::-1]:
                with conn.transaction():
                    made = conn.execute(
                        "SELECT id FROM editroom.run_workflow(%s, %s::uuid[])",
                        [workflow_id, media],
                    ).fetchall()
                    conn.execute("SELECT editroom.cancel_edit(%s)", [made[0]["id"]])
            claimed = conn.execute(
                "SELECT id FROM editroom.claim_edits(%s, 3)", [worker]
            ).fetchall()
            if claimed:
                done = "SELECT editroom.complete_edit(%s, %s, '{}')"
                conn.execute(done, [claimed[0]["id"], worker])
            if len(claimed) > 1:
                failed = "SELECT editroom.fail_edit(%s, %s, 'broken', false)"
                conn.execute(failed, [claimed[1]["id"], worker])


def run_at_once(database_url: str, workflows: list[UUID], media: list[UUID]) -> None:
    errors: list[BaseException] = []

    def run(number: int) -> None:
        try:
            runner(database_url, number, workflows, media)
        except BaseException as exc:  # the test fails with it, not a warning
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_the_counts_are_the_count_after_runs_at_once_archiving_and_retention(
    conn: Conn, database_url: str
) -> None:
    workflows = [create_workflow(conn, "one"), create_workflow(conn, "two")]
    media = [insert_media(conn) for _ in range(BATCH)]
    run_at_once(database_url, workflows, media)
    assert sum(truth(conn, workflows[0]).values()) == RUNNERS * ROUNDS * BATCH
    assert_counted_right(conn, workflows)

    # The runners' connections are closed: their rows are folded into this one's.
    assert conn.execute("SELECT editroom.compact_status_counts() AS n").fetchone() != {"n": 0}
    assert_counted_right(conn, workflows)
    conn.execute("SELECT editroom.archive_finished_edits('0 seconds', 100000)")
    assert truth(conn, workflows[0]).get("completed", 0) > 0
    assert conn.execute("SELECT count(*) AS n FROM editroom.edit_history").fetchone() != {"n": 0}
    assert_counted_right(conn, workflows)
    # Retention drops today's day of history: its executions are no longer counted.
    conn.execute("SELECT editroom.prune_finished_edits('-1 day')")
    assert truth(conn, workflows[0]).get("completed", 0) == 0
    assert_counted_right(conn, workflows)


def test_reading_the_counts_reads_no_edit(conn: Conn) -> None:
    workflow_id = create_workflow(conn, "busy")
    source = insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, workflow_id, workflow_version, status,
                                       trial, finished_at)
           SELECT %s, '[]', %s, 1, 'completed', 1, now() FROM generate_series(1, %s)""",
        [source, workflow_id, EXECUTIONS],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    assert counted(conn, workflow_id)["completed"] == EXECUTIONS
    read = psycopg.ClientCursor(conn).mogrify(
        load_queries(QUERIES_FILE)["workflow_status_counts"], {"id": workflow_id}
    )

    plan: Any = conn.execute(f"EXPLAIN (FORMAT JSON) {read}").fetchone()
    relations = relations_read(plan["QUERY PLAN"][0]["Plan"])
    touched = buffers(conn, read)

    print(f"a workflow's counts beside {EXECUTIONS:,} executions: {touched} buffers, {relations}")
    assert not relations & {"edits", "edit_history"}, relations
    assert touched < 30


def relations_read(node: dict[str, Any]) -> set[str]:
    own = {node["Relation Name"]} if "Relation Name" in node else set()
    return own.union(*(relations_read(child) for child in node.get("Plans", [])))


def test_compacting_reads_the_shards_not_every_workflow_s_rows(
    database_url: str, conn: Conn
) -> None:
    """Every runner's maintenance compacts the counters every reap: with a row per workflow,
    status and backend, reading all of them to find the backends that are gone grew with the
    workflows. The shards are found one index probe each; rows are read only for a gone one
    (folding them is checked with the runs above)."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as live:
        pid = live.execute("SELECT pg_backend_pid() AS pid").fetchone()
        assert pid is not None
        conn.execute(
            """INSERT INTO editroom.workflow_edit_counts (workflow_id, status, shard, n)
               SELECT gen_random_uuid(), 'completed', %s, 1 FROM generate_series(1, %s)""",
            [pid["pid"], EXECUTIONS],
        )
        conn.execute("VACUUM ANALYZE editroom.workflow_edit_counts")
        conn.execute("SELECT editroom.compact_status_counts()")  # planned, as a runner's is

        touched = buffers(conn, "SELECT editroom.compact_status_counts()")

        print(f"compacting beside {EXECUTIONS:,} rows of a live backend: {touched} buffers")
        assert touched < 30  # reading the rows: over 200 pages
        left = conn.execute("SELECT count(*) AS n FROM editroom.workflow_edit_counts").fetchone()
        assert left == {"n": EXECUTIONS}
