"""The SQL API a DBA sees: every function's search_path pinned (but the inlined expressions'),
and PUBLIC may execute exactly the functions the README's SQL section documents."""

import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.queue import Conn

README = Path(__file__).parents[2] / "README.md"
INLINED = {
    "edit_claimable", "edit_still_to_run", "edit_held", "edit_kind",
    "wake_slot_count", "wake_key", "lane_channel", "watched",
}  # fmt: skip
PINNED = "search_path=editroom, pg_catalog, pg_temp"


def functions(conn: Conn) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT p.proname AS name, p.oid::regprocedure::text AS signature, p.proconfig,
                  has_function_privilege('public', p.oid, 'EXECUTE') AS public
             FROM pg_proc p WHERE p.pronamespace = 'editroom'::regnamespace"""
    ).fetchall()


def documented(names: set[str]) -> set[str]:
    """Functions the README's SQL section names, up to where it turns to the helpers."""
    text = README.read_text()
    section = text.split("## The queue, in SQL", 1)[1].split("These are the API", 1)[0]
    return {name for name in re.findall(r"`([a-z_]+)", section) if name in names}


def test_every_function_resolves_names_in_editroom_first(conn: Conn) -> None:
    found = functions(conn)
    assert len(found) > 40
    for function in found:
        if function["name"] in INLINED:
            assert function["proconfig"] is None, function["signature"]  # a SET stops inlining
        else:  # beside it, a function may set its own lock_timeout (the history's DDL)
            assert PINNED in function["proconfig"], function["signature"]
            assert all(
                setting == PINNED or setting.startswith("lock_timeout=")
                for setting in function["proconfig"]
            ), function["signature"]


def test_the_expressions_left_unpinned_are_inlined_into_their_callers(conn: Conn) -> None:
    """Left without a SET so that the planner writes them into the calling query (and
    matches the partial indexes their predicates name). One the planner refuses to inline
    runs as a SQL function call of its own for every row: edit_kind, declared IMMUTABLE
    around a STABLE enum-to-text cast, was set up by every claim statement (14 us) and
    called for each edit it claimed (1.2 us against 0.1 inlined); and no partial index can
    be matched through a call."""
    found = conn.execute(
        """SELECT p.proname AS name,
                  ARRAY(SELECT format_type(t.type, NULL)
                          FROM unnest(p.proargtypes) WITH ORDINALITY AS t (type, position)
                         ORDER BY t.position) AS types
             FROM pg_proc p
            WHERE p.pronamespace = 'editroom'::regnamespace AND p.proname = ANY (%s)""",
        [sorted(INLINED)],
    ).fetchall()
    assert {function["name"] for function in found} == INLINED
    for function in found:  # each overload, if one is ever added
        name = function["name"]
        columns = [f"a{number} {type_}" for number, type_ in enumerate(function["types"])]
        # Arguments read from a table's columns: constants would let the planner fold even
        # a call it does not inline.
        conn.execute(f"CREATE TEMP TABLE arguments ({', '.join(columns) or 'nothing int'})")
        try:
            call = f"editroom.{name}({', '.join(f'a{n}' for n in range(len(columns)))})"
            row = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) SELECT {call} FROM arguments")
            plan = row.fetchone()
            assert plan is not None
            output = plan["QUERY PLAN"][0]["Plan"]["Output"][0]
            assert f"{name}(" not in output, f"{name} is called, not inlined: {output}"
        finally:
            conn.execute("DROP TABLE arguments")


def test_public_may_execute_what_the_readme_documents_and_nothing_else(conn: Conn) -> None:
    found = functions(conn)
    public = {function["name"] for function in found if function["public"]}
    assert public == documented({function["name"] for function in found})
    internal = {function["name"] for function in found if not function["public"]}
    assert {"lock_edit", "lock_held_edit", "bump_status_counts", "compact_status_counts",
            "edits_after_insert", "edits_notify_event", "raise_not_held"} <= internal  # fmt: skip


@pytest.fixture
def outsider(conn: Conn) -> str:
    role = f"outsider_{conn.info.dbname[-12:]}"
    conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    conn.execute(sql.SQL("GRANT USAGE ON SCHEMA editroom TO {}").format(sql.Identifier(role)))
    return role


def test_another_role_calls_the_api_but_not_the_helpers(conn: Conn, outsider: str) -> None:
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(outsider)))
    try:
        row = conn.execute("SELECT editroom.backoff_delay(1) AS delay").fetchone()
        assert row is not None and row["delay"].total_seconds() > 0
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="lock_edit"):
            conn.execute("SELECT editroom.lock_edit(gen_random_uuid())")
    finally:
        conn.execute("RESET ROLE")
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(outsider)))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(outsider)))
