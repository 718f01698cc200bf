"""Deleting a media asks whether an edit still to run reads it (its source, or a media its
operations name) through indexes: the question read the whole backlog, under the media's lock."""

from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.queue import Conn, buffers, enqueue, insert_media

BACKLOG = 20_000


@pytest.fixture
def backlog(conn: Conn) -> Conn:
    """BACKLOG edits queued, each appending another media (concat), none of them ours."""
    source, appended = insert_media(conn), insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops)
           SELECT %s, %s FROM generate_series(1, %s)""",
        [source, Jsonb([{"op": "concat", "media": [str(appended)]}]), BACKLOG],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    return conn


def test_deleting_a_media_reads_no_edit_of_the_backlog(backlog: Conn) -> None:
    conn = backlog
    for _ in range(6):  # past PL/pgSQL's custom plans: the generic plan is the one kept
        conn.execute("SELECT editroom.delete_media(%s)", [insert_media(conn)])

    read = buffers(conn, f"SELECT editroom.delete_media('{insert_media(conn)}')")

    # Matching every queued edit's operations as text read each of them: over a thousand.
    assert read < 100, f"{read} buffers to delete one media beside {BACKLOG:,} queued edits"


def test_the_question_is_asked_of_the_indexes(backlog: Conn) -> None:
    plan = backlog.execute(
        """EXPLAIN (FORMAT JSON)
           SELECT e.id, e.status FROM editroom.edits e
            WHERE editroom.edit_still_to_run(e.status)
              AND (e.media_id = %(id)s
                   OR (e.ops @? 'lax $[*].media'
                       AND jsonb_path_query_array(e.ops, 'lax $[*].media[*]')
                           @> jsonb_build_array(%(id)s::uuid)))""",
        {"id": insert_media(backlog)},
    ).fetchone()
    assert plan is not None
    assert "edits_still_to_run_reads_idx" in str(plan["QUERY PLAN"])
    assert "Seq Scan" not in str(plan["QUERY PLAN"])


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "concat", "media": ["{id}"]}],
        [{"op": "resize", "width": 10}, {"op": "overlay", "media": "{id}", "opacity": 0.5}],
    ],
    ids=["in-a-list", "in-a-field"],
)
def test_a_media_an_edit_still_to_run_names_is_kept(
    backlog: Conn, ops: list[dict[str, Any]]
) -> None:
    conn = backlog
    named = insert_media(conn)
    spelled = [{k: _filled(v, str(named)) for k, v in op.items()} for op in ops]
    edit = enqueue(conn, insert_media(conn), spelled)

    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match=str(edit["id"])):
        conn.execute("SELECT editroom.delete_media(%s)", [named])


def _filled(value: object, media_id: str) -> object:
    if value == "{id}":
        return media_id
    if isinstance(value, list):
        return [_filled(item, media_id) for item in value]
    return value
