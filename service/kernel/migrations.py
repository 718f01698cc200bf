"""Schema migrations: Alembic for tables and types, then db/functions/ re-applied at head.

Every upgrade runs in one transaction under an advisory lock, so concurrent `editroom db
upgrade` calls (several containers starting) apply it once and the others wait, then no-op.
`editroom db upgrade` first waits a while for a PostgreSQL that is still starting.
"""

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
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

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
                f"PostgreSQL at {_where(database_url)} did not accept connections within "
                f"{timeout_seconds:g} s ({_describe(answer)}); is it running? "
                "`editroom db upgrade --wait SECONDS` waits longer"
            )
        log.info("waiting for PostgreSQL", extra={"database": _where(database_url)})
        time.sleep(min(PING_INTERVAL_SECONDS, remaining))


def _ping(database_url: str) -> pq.Ping:
    try:
        conninfo = make_conninfo(database_url, connect_timeout=PING_TIMEOUT_SECONDS)
    except psycopg.ProgrammingError:
        return pq.Ping.NO_ATTEMPT  # unparseable: the connection itself will say why
    return pq.Ping(pq.PGconn.ping(conninfo.encode()))


def _where(database_url: str) -> str:
    """host:port, never the password."""
    try:
        parts = conninfo_to_dict(database_url)
    except psycopg.ProgrammingError:
        return "DATABASE_URL"
    return f"{parts.get('host') or 'the default socket'}:{parts.get('port') or 5432}"


def _describe(answer: pq.Ping) -> str:
    if answer == pq.Ping.REJECT:
        return "it answers but refuses connections: starting up, shutting down or recovering"
    return "no answer"


def upgrade(database_url: str, revision: str = "head") -> None:
    with _connection(database_url) as connection:
        command.upgrade(alembic_config(connection), revision)


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
        driver.execute("CREATE SCHEMA IF NOT EXISTS editroom")
        context.run_migrations()
        if set(context.get_context().get_current_heads()) == set(context.script.get_heads()):
            apply_functions(driver)
