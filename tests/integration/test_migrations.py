"""The schema as the migrations build it, and the rules the migrations keep."""

import logging
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from service.kernel import migrations
from service.kernel.schema_snapshot import snapshot
from tests.queue import enqueue, insert_media

EXPECTED_SCHEMA = Path("db/schema.expected")
CODE_0016 = Path("tests/integration/code_0016.expected")
DESIGN_FUNCTIONS = {
    "enqueue_edit": "p_media_id uuid, p_ops jsonb, p_session_id uuid, p_workflow_id uuid, "
    "p_max_trials integer, p_priority integer, p_run_after timestamp with time zone",
    "claim_edits": "p_worker text, p_limit integer, p_lease interval",
    # The design's parameters, and the claimed trial that fences the attempt (issue 15):
    # optional, so the design's calls still work; runners pass it.
    "heartbeat_edit": "p_id uuid, p_worker text, p_progress real, p_lease interval, "
    "p_trial integer",
    "complete_edit": "p_id uuid, p_worker text, p_outputs uuid[], p_trial integer",
    "fail_edit": "p_id uuid, p_worker text, p_error text, p_retryable boolean, p_trial integer",
    "cancel_edit": "p_id uuid",
    "retry_edit": "p_id uuid",
    "reap_expired_leases": "",
    "status_counts": "",
    # Beyond the design's table, documented beside it in the README: a runner shutting down
    # hands back what it could not finish.
    "release_edit": "p_id uuid, p_worker text, p_trial integer",
}


def schema_of(url: str) -> str:
    with psycopg.connect(url) as conn:
        return snapshot(conn)


def test_migrations_build_the_expected_schema(database_url: str) -> None:
    actual = schema_of(database_url)
    assert actual == EXPECTED_SCHEMA.read_text(), (
        "the migrated schema differs from db/schema.expected; if the change is intended, "
        "run `make schema` and review the diff"
    )


def test_design_functions_have_exactly_the_documented_parameters(conn: Any) -> None:
    rows = conn.execute(
        """SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS arguments,
                  obj_description(p.oid, 'pg_proc') AS comment
             FROM pg_proc p WHERE p.pronamespace = 'editroom'::regnamespace"""
    ).fetchall()
    found = {row["name"]: row["arguments"] for row in rows}
    assert {name: found.get(name) for name in DESIGN_FUNCTIONS} == DESIGN_FUNCTIONS
    undocumented = [row["name"] for row in rows if not row["comment"]]
    assert undocumented == []


def test_upgrade_again_is_a_no_op_that_reapplies_functions(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION editroom.status_counts() "
            "RETURNS TABLE (status text, count bigint) LANGUAGE sql "
            "AS $$ SELECT 'tampered', 0::bigint $$"
        )
    migrations.upgrade(database_url)
    assert schema_of(database_url) == EXPECTED_SCHEMA.read_text()
    with psycopg.connect(database_url) as conn:
        statuses = [row[0] for row in conn.execute("SELECT status FROM editroom.status_counts()")]
    assert "tampered" not in statuses and len(statuses) == 6


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    migrations.downgrade(database_url, "base")
    assert migrations.current_revision(database_url) is None
    leftovers = schema_of(database_url).splitlines()
    assert all("alembic_version" in line for line in leftovers), leftovers
    migrations.upgrade(database_url)
    assert migrations.current_revision(database_url) == migrations.head_revision()
    assert schema_of(database_url) == EXPECTED_SCHEMA.read_text()


def made_by_migrations(schema: str) -> list[str]:
    """A snapshot's lines the migrations make: all but the functions and triggers."""
    return [line for line in schema.splitlines() if not line.startswith(("function", "trigger"))]


def code_of(schema: str) -> set[str]:
    """A snapshot's functions and triggers, each as a function file's CREATE OR REPLACE finds
    it to replace: a function by its name, arguments and result; a trigger by its name and
    table. One of another signature is not replaced but left beside the new one."""
    functions = {line.split(" [")[0] for line in schema.splitlines() if line.startswith("function")}
    triggers = set(re.findall(r"^trigger CREATE TRIGGER (\S+) .* ON (\S+) ", schema, re.M))
    return functions | {f"trigger {name} ON {table}" for name, table in triggers}


def test_downgrade_to_0016_leaves_what_0016_made(
    database_url: str, empty_database_url: str
) -> None:
    """Its tables, indexes and views, as an upgrade to 0016 makes them; its functions are the
    head's (a downgrade never re-applies function files), but only those 0016's own upgrade
    re-creates: a function or trigger of a later revision would stay for good. 0017's
    downgrade left bump_workflow_counts, which writes to a table it had dropped. The head's
    edits triggers still enqueue there: they call bump_workflow_counts only for a statement
    with workflow edits, and plan no call otherwise."""
    migrations.upgrade(empty_database_url, "0016")
    migrations.downgrade(database_url, "0016")
    left = schema_of(database_url)
    assert made_by_migrations(left) == made_by_migrations(schema_of(empty_database_url))
    assert code_of(left) - code_of(CODE_0016.read_text()) == set()
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        assert enqueue(conn, insert_media(conn))["status"] == "queued"
    migrations.upgrade(database_url)
    assert schema_of(database_url) == EXPECTED_SCHEMA.read_text()


def test_a_database_upgraded_to_0017_alone_goes_back(empty_database_url: str) -> None:
    """Function files are applied only at head: at 0017 there is no bump_workflow_counts for
    its downgrade to drop."""
    migrations.upgrade(empty_database_url, "0017")
    migrations.downgrade(empty_database_url, "0016")
    assert migrations.current_revision(empty_database_url) == "0016"


def test_concurrent_upgrades_of_an_empty_database_apply_once(empty_database_url: str) -> None:
    # Processes, as when several containers start at once (Alembic's context is per process).
    env = {**os.environ, "DATABASE_URL": empty_database_url}
    upgrades = [
        subprocess.Popen(
            [sys.executable, "-m", "service", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(4)
    ]
    outputs = [upgrade.communicate(timeout=120)[0].decode() for upgrade in upgrades]
    assert [upgrade.returncode for upgrade in upgrades] == [0] * 4, outputs
    assert schema_of(empty_database_url) == EXPECTED_SCHEMA.read_text()


def test_function_files_can_be_applied_twice(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        migrations.apply_functions(conn)
        migrations.apply_functions(conn)
    assert schema_of(database_url) == EXPECTED_SCHEMA.read_text()


@pytest.mark.parametrize("path", sorted(Path("db/migrations/versions").glob("*.py")), ids=str)
def test_migrations_never_carry_function_bodies(path: Path) -> None:
    text = path.read_text().upper()
    assert "CREATE FUNCTION" not in text and "CREATE OR REPLACE FUNCTION" not in text, (
        "function definitions belong in db/functions/, which every upgrade re-applies"
    )


def test_cli_reports_the_revision_and_the_schema(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    current = subprocess.run(
        [sys.executable, "-m", "service", "db", "current"], env=env, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert current.stdout.strip() == migrations.head_revision()
    schema = subprocess.run(
        [sys.executable, "-m", "service", "db", "schema"], env=env, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert schema.stdout == EXPECTED_SCHEMA.read_text()


def test_cli_without_a_database_says_what_to_set() -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "EDITROOM_DATABASE_URL")
    }
    result = subprocess.run(
        [sys.executable, "-m", "service", "db", "upgrade"], env=env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "DATABASE_URL is not set" in result.stderr


def test_status_counts_never_reads_the_edits_table(conn: Any, database_url: str) -> None:
    with psycopg.connect(database_url) as locker:
        locker.execute("LOCK TABLE editroom.edits IN ACCESS EXCLUSIVE MODE")
        conn.execute("SET lock_timeout = '200ms'")
        assert len(conn.execute("SELECT * FROM editroom.status_counts()").fetchall()) == 6
        with pytest.raises(psycopg.errors.LockNotAvailable):  # the probe works
            conn.execute("SELECT count(*) FROM editroom.edits")


def hold_edits_open(database_url: str) -> "psycopg.Connection[Any]":
    """A transaction left open after touching edits (a psql session, a slow request)."""
    holder = psycopg.connect(database_url)
    holder.execute("SELECT count(*) FROM editroom.edits")  # ACCESS SHARE until it ends
    holder.execute("LOCK TABLE editroom.edits IN ROW EXCLUSIVE MODE")
    return holder


def upgrade_in_background(database_url: str) -> threading.Thread:
    failures: list[BaseException] = []

    def body() -> None:
        try:
            migrations.upgrade(database_url)
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=body)
    thread.failures = failures  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_an_upgrade_with_nothing_to_do_takes_no_lock_on_edits(database_url: str) -> None:
    holder = hold_edits_open(database_url)
    try:
        upgrade = upgrade_in_background(database_url)
        upgrade.join(timeout=30)
        assert not upgrade.is_alive(), "the upgrade waited behind an open transaction on edits"
        assert upgrade.failures == []  # type: ignore[attr-defined]
    finally:
        holder.close()


class EndOnceGivenWay(logging.Handler):
    """Closes the connection holding the lock once the upgrade says it gave way."""

    def __init__(self, holder: "psycopg.Connection[Any]") -> None:
        super().__init__()
        self.holder = holder

    def emit(self, record: logging.LogRecord) -> None:
        if "trying again" in record.getMessage():
            self.holder.close()


def test_an_upgrade_that_must_wait_gives_way_and_retries(
    database_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At test speed: a lock given up after 0.2 s (2 s in use), tried again after 0.1 s.
    monkeypatch.setattr(migrations, "LOCK_TIMEOUT", "200ms")
    monkeypatch.setattr(migrations, "LOCK_RETRY_SECONDS", 0.1)
    with psycopg.connect(database_url, autocommit=True) as conn:  # a definition to restore
        conn.execute("COMMENT ON FUNCTION editroom.status_counts() IS 'tampered'")
    holder = hold_edits_open(database_url)
    ending = EndOnceGivenWay(holder)  # the open transaction ends after the upgrade gave way
    logging.getLogger(migrations.__name__).addHandler(ending)
    try:
        with caplog.at_level("WARNING"):
            migrations.upgrade(database_url)
    finally:
        logging.getLogger(migrations.__name__).removeHandler(ending)
        holder.close()
    assert "trying again" in caplog.text
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT obj_description('editroom.status_counts'::regproc)").fetchone()
    assert row is not None and row[0] != "tampered"


def test_media_origins_are_told_apart_for_media_stored_before_0012(database_url: str) -> None:
    """Uploads, imports and edits' outputs made before the media said its origin, and codecs
    recorded by their decoders' names."""
    migrations.downgrade(database_url, "0011")
    with psycopg.connect(database_url, autocommit=True) as conn:

        def media(name: str, source_edit: object = None) -> None:
            conn.execute(
                """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256,
                                              storage_key, original_name, source_edit_id)
                   VALUES ('image', 'image/png', 1, md5(%(n)s) || md5(%(n)s), %(n)s, %(n)s,
                           %(e)s)""",
                {"n": name, "e": source_edit},
            )

        def edit(media_id: object, op: str) -> object:
            row = conn.execute(
                "INSERT INTO editroom.edits (media_id, ops) VALUES (%s, %s) RETURNING id",
                [media_id, f'[{{"op": "{op}"}}]'],
            ).fetchone()
            assert row is not None
            return row[0]

        media("uploaded")
        conn.execute(
            """UPDATE editroom.media SET video_codec = 'libdav1d', audio_codec = 'mp3float'
                WHERE original_name = 'uploaded'"""
        )
        (uploaded,) = conn.execute(
            "SELECT id FROM editroom.media WHERE original_name = 'uploaded'"
        ).fetchone() or (None,)
        media("imported", edit(None, "import"))
        media("edited", edit(uploaded, "flip"))
        migrations.upgrade(database_url)
        rows = conn.execute("SELECT original_name, origin FROM editroom.media").fetchall()
    origins = {name: origin for name, origin in rows}
    assert origins == {"uploaded": "upload", "imported": "import", "edited": "edit"}
    # and the codecs by their names, not the decoders' (libdav1d for AV1, mp3float for MP3)
    with psycopg.connect(database_url) as conn:
        codecs = conn.execute(
            "SELECT video_codec, audio_codec FROM editroom.media WHERE original_name = 'uploaded'"
        ).fetchone()
    assert codecs == ("av1", "mp3")


def test_edits_and_media_stored_before_0013_are_nobody_s_copies(database_url: str) -> None:
    """Edits live and archived, and media, from before the mark: none is taken for a copy an
    address made, and the old signatures of the functions that take the mark are gone."""
    migrations.downgrade(database_url, "0012")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key)
               VALUES ('image', 'image/png', 1, repeat('a', 64), 'before-0013')"""
        )
        # Rows as 0012's functions left them; the functions there now are the files' (head's).
        conn.execute("SELECT editroom.add_history_partition(current_date)")
        for table, status in (("edits", "queued"), ("edit_history", "completed")):
            conn.execute(
                sql.SQL(
                    """INSERT INTO editroom.{} (media_id, ops, status, finished_at, edit_key)
                       SELECT id, '[{{"op": "noop"}}]', %s, now(), md5(%s) || md5(%s)
                         FROM editroom.media"""
                ).format(sql.Identifier(table)),
                [status, table, table],
            )
        migrations.upgrade(database_url)
        rows = conn.execute(
            """SELECT 'edits' AS t, by_address FROM editroom.edits
               UNION ALL SELECT 'history', by_address FROM editroom.edit_history
               UNION ALL SELECT 'all_edits', by_address FROM editroom.all_edits
               UNION ALL SELECT 'media', by_address FROM editroom.media ORDER BY 1"""
        ).fetchall()
        signatures = conn.execute(
            """SELECT count(*) FROM pg_proc WHERE pronamespace = 'editroom'::regnamespace
                 AND proname IN ('enqueue_edit_once', 'enqueue_edit_once_admitted',
                                 'list_edits')"""
        ).fetchone()
        listed = conn.execute(
            "SELECT count(*) FROM editroom.list_edits(p_by_address => false)"
        ).fetchone()
    assert sorted(rows) == [
        ("all_edits", False), ("all_edits", False), ("edits", False), ("history", False),
        ("media", False),
    ]  # fmt: skip
    assert (signatures, listed) == ((3,), (2,))
    assert schema_of(database_url) == EXPECTED_SCHEMA.read_text()


def test_failures_from_before_0014_keep_what_their_trials_said(database_url: str) -> None:
    """Before the runner's verdict was kept, a failure with trials left was one the runner
    said would fail alike (fail_edit fails at once only then); one on its last trial, or one
    that never ran (a session's step after a failure), may succeed."""
    migrations.downgrade(database_url, "0012")
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name, trial in (("alike", 1), ("last trial", 3), ("never ran", 0)):
            conn.execute(
                """INSERT INTO editroom.edits (ops, status, trial, max_trials, error, finished_at)
                   VALUES ('[{"op": "noop"}]', 'failed', %s, 3, %s, now())""",
                [trial, name],
            )
        migrations.upgrade(database_url)
        rows = conn.execute("SELECT error, fails_alike FROM editroom.edits").fetchall()
    assert dict(rows) == {"alike": True, "last trial": False, "never ran": False}
