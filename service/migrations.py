"""Schema migrations: Alembic for tables and types, then db/functions/ re-applied at head.

Every upgrade runs in one transaction under an advisory lock, so concurrent `editroom db
upgrade` calls (several containers starting) apply it once and the others wait, then no-op.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from alembic import command, op
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

SCHEMA = "editroom"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "db" / "migrations"
FUNCTIONS_DIR = PROJECT_ROOT / "db" / "functions"
# Any constant both sides agree on; hashtext keeps it readable.
MIGRATION_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtext('editroom.migrations'))"


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
