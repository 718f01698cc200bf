"""Schema migrations: Alembic for tables and types, then db/functions/ re-applied at head.

Every upgrade runs in one transaction under an advisory lock, so concurrent `editroom db
upgrade` calls (several containers starting) apply it once and the others wait, then no-op.
`editroom db upgrade` first waits a while for a PostgreSQL that is still starting.

A deploy must not stall the queue: re-creating a trigger on edits takes a lock that waits
behind any open transaction on edits, and every enqueue then waits behind it. So the upgrade
re-creates functions and triggers only when the files or the definitions in the database
changed (editroom.applied_functions), and waits at most LOCK_TIMEOUT for a lock, then gives up,
rolls back and tries again, up to LOCK_ATTEMPTS times.
"""

import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command, op
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from psycopg import pq
from psycopg.conninfo import make_conninfo
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from service.kernel.db import where
from service.kernel.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

SCHEMA = "editroom"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "db" / "migrations"
FUNCTIONS_DIR = PROJECT_ROOT / "db" / "functions"
# Any constant both sides agree on; hashtext keeps it readable.
MIGRATION_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('editroom.migrations'))"
PING_INTERVAL_SECONDS = 1.0
PING_TIMEOUT_SECONDS = 5  # one attempt's connect_timeout (libpq counts whole seconds, >= 2)
# Answers worth waiting out: nothing listens yet, or the server is starting up (or in
# recovery). NO_ATTEMPT (a URL libpq cannot use) never improves, and OK is the end.
NOT_YET = (pq.Ping.NO_RESPONSE, pq.Ping.REJECT)
LOCK_TIMEOUT = "2s"  # per lock the upgrade waits for; enqueues queue up behind it meanwhile
LOCK_ATTEMPTS = 10
LOCK_RETRY_SECONDS = 1.0
# What the function files make, as the database holds it: a change by hand shows here.
DEFINITIONS_SQL = """
SELECT md5(coalesce(string_agg(d.definition, E'\n' ORDER BY d.definition), ''))
  FROM (SELECT pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid, 'pg_proc'), '')
               AS definition
          FROM pg_proc p WHERE p.pronamespace = 'editroom'::regnamespace
        UNION ALL
        SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relnamespace = 'editroom'::regnamespace AND NOT t.tgisinternal) d
"""


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "db/migrations/versions holds no revision"
    return head


@contextmanager
def _connection(database_url: str) -> Iterator[Connection]:
    engine = create_engine(
        "postgresql+psycopg://",
        creator=lambda: psycopg.connect(database_url),
        poolclass=NullPool,
    )
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def wait_for_database(database_url: str, *, timeout_seconds: float) -> None:
    """Return once PostgreSQL accepts connections, asking every second for up to
    timeout_seconds (0: ask once); raise DatabaseUnavailable when it never does.

    A container's migration may start while the database is still initialising. The
    question is libpq's ping (pg_isready's), which needs no credentials: a wrong password or
    database name is not waited out but reported by the connection that follows.
    """
    deadline = time.monotonic() + timeout_seconds
    while (answer := _ping(database_url)) in NOT_YET:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DatabaseUnavailable(
                f"PostgreSQL at {where(database_url)} did not accept connections within "
                f"{timeout_seconds:g} s ({_describe(answer)}); is it running? "
                "`editroom db upgrade --wait SECONDS` waits longer"
            )
        log.info("waiting for PostgreSQL", extra={"database": where(database_url)})
        time.sleep(min(PING_INTERVAL_SECONDS, remaining))


def _ping(database_url: str) -> pq.Ping:
    try:
        conninfo = make_conninfo(database_url, connect_timeout=PING_TIMEOUT_SECONDS)
    except psycopg.ProgrammingError:
        return pq.Ping.NO_ATTEMPT  # unparseable: the connection itself will say why
    return pq.Ping(pq.PGconn.ping(conninfo.encode()))


def _describe(answer: pq.Ping) -> str:
    if answer == pq.Ping.REJECT:
        return "it answers but refuses connections: starting up, shutting down or recovering"
    return "no answer"


def upgrade(database_url: str, revision: str = "head") -> None:
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with _connection(database_url) as connection:
                command.upgrade(alembic_config(connection), revision)
            return
        except psycopg.errors.LockNotAvailable as exc:
            if attempt == LOCK_ATTEMPTS:
                raise
            log.warning(
                "upgrade waited too long for a lock; rolled back, trying again",
                extra={"attempt": attempt, "error": str(exc).splitlines()[0]},
            )
            time.sleep(LOCK_RETRY_SECONDS)


def downgrade(database_url: str, revision: str) -> None:
    with _connection(database_url) as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(database_url: str) -> str | None:
    with psycopg.connect(database_url) as conn:
        exists = conn.execute("SELECT to_regclass('editroom.alembic_version')").fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM editroom.alembic_version").fetchone()
        return None if row is None else str(row[0])


def _driver(connection: Connection) -> "psycopg.Connection[Any]":
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def execute_sql(statements: str) -> None:
    """Run a migration's SQL as written: several statements, no bind-parameter parsing."""
    _driver(op.get_bind()).execute(statements.encode())


def apply_functions(conn: "psycopg.Connection[Any]") -> None:
    """(Re)create every function and trigger of db/functions/, in file-name order."""
    for path in sorted(FUNCTIONS_DIR.glob("*.sql")):
        conn.execute(path.read_bytes())


def _files_sha256() -> str:
    digest = hashlib.sha256()
    for path in sorted(FUNCTIONS_DIR.glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _definitions_md5(conn: "psycopg.Connection[Any]") -> str:
    row = conn.execute(DEFINITIONS_SQL).fetchone()
    assert row is not None
    return str(row[0])


def apply_changed_functions(conn: "psycopg.Connection[Any]", *, migrated: bool) -> bool:
    """Apply db/functions/ unless nothing was migrated and both the files and the database's
    definitions are what the last upgrade left; returns whether it applied them."""
    files = _files_sha256()
    row = conn.execute(
        "SELECT files_sha256, definitions_md5 FROM editroom.applied_functions"
    ).fetchone()
    if not migrated and row is not None and tuple(row) == (files, _definitions_md5(conn)):
        return False
    apply_functions(conn)
    conn.execute(
        """INSERT INTO editroom.applied_functions (files_sha256, definitions_md5)
           VALUES (%s, %s)
           ON CONFLICT (only_row) DO UPDATE
              SET files_sha256 = excluded.files_sha256,
                  definitions_md5 = excluded.definitions_md5, applied_at = now()""",
        [files, _definitions_md5(conn)],
    )
    return True


def run_in_transaction(context: EnvironmentContext) -> None:
    """The body of db/migrations/env.py."""
    if context.is_offline_mode():
        raise SystemExit("editroom migrations run against a database; --sql is not supported")
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _migrate(context, connection)
        return
    # Plain `alembic` from a shell: take the same DATABASE_URL as editroom.
    with _connection(os.environ["DATABASE_URL"]) as own_connection:
        _migrate(context, own_connection)


def _migrate(context: EnvironmentContext, connection: Connection) -> None:
    context.configure(connection=connection, version_table_schema=SCHEMA)
    with context.begin_transaction():
        driver = _driver(connection)
        driver.execute(MIGRATION_LOCK_SQL)
        # After the advisory lock: a concurrent upgrade is waited out, not timed out.
        driver.execute("SELECT set_config('lock_timeout', %s, true)", [LOCK_TIMEOUT])
        driver.execute("CREATE SCHEMA IF NOT EXISTS editroom")
        before = set(context.get_context().get_current_heads())
        context.run_migrations()
        after = set(context.get_context().get_current_heads())
        if after == set(context.script.get_heads()):
            apply_changed_functions(driver, migrated=before != after)
