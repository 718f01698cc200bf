"""Shared fixtures: one PostgreSQL server per test session (embedded unless DATABASE_URL is
set), a template database migrated once, and a fresh database per test cloned from it."""

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from service.kernel import migrations
from service.kernel.embedded import embedded_postgres
from tests.s3 import S3Endpoint, moto_s3

REQUIRE_ALL = os.environ.get("EDITROOM_REQUIRE_ALL") == "1"

# Durability buys nothing in a test server that is thrown away afterwards.
FAST_UNSAFE_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
# Its files are kept in memory where the machine has room (tmpfs at /dev/shm): each test's
# database is a clone of the template, hundreds of files made and, at its end, deleted, and on
# ext4 a file made among so many recently deleted ones costs a scan of the inode table (up to
# 0.25 s a clone on our 2-core machines, 0.015 s in memory). In memory, WAL is kept to a few
# checkpoints' worth (each clone writes its 9 MB to it).
MEMORY_DIR = Path("/dev/shm")
MEMORY_DIR_MIN_FREE_BYTES = 2 * 1024**3
IN_MEMORY_SETTINGS = {"max_wal_size": "256MB"}


def require_tool(name: str) -> str:
    """The path of an executable a test needs; skips without it, or fails under REQUIRE_ALL."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (.ci/run installs it)"
        if REQUIRE_ALL:
            pytest.fail(message + "; EDITROOM_REQUIRE_ALL=1 forbids skipping")
        pytest.skip(message)
    return path


def _admin(server_url: str) -> "psycopg.Connection[Any]":
    return psycopg.connect(server_url, autocommit=True)


def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template))
    with _admin(server_url) as conn:
        conn.execute(statement)
    return make_conninfo(server_url, dbname=name)


def drop_database(server_url: str, name: str) -> None:
    with _admin(server_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    # A directory of its own, outside pytest's numbered ones that concurrent sessions prune.
    in_memory = _has_room(MEMORY_DIR)
    data_dir = Path(
        tempfile.mkdtemp(prefix="editroom-test-pg-", dir=MEMORY_DIR if in_memory else None)
    )
    settings = FAST_UNSAFE_SETTINGS | (IN_MEMORY_SETTINGS if in_memory else {})
    try:
        with embedded_postgres(data_dir, cleanup="delete") as server_url:
            with _admin(server_url) as conn:
                for name, value in settings.items():
                    conn.execute(
                        sql.SQL("ALTER SYSTEM SET {} = {}").format(
                            sql.Identifier(name), sql.Literal(value)
                        )
                    )
                conn.execute("SELECT pg_reload_conf()")
            yield server_url
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _has_room(directory: Path) -> bool:
    """Whether the test server's files may live in `directory` (a container's /dev/shm is
    often 64 MB: too small, so the server stays on disk there)."""
    if not (directory.is_dir() and os.access(directory, os.W_OK)):
        return False
    return shutil.disk_usage(directory).free >= MEMORY_DIR_MIN_FREE_BYTES


@pytest.fixture(scope="session")
def template_database(postgres_server_url: str) -> Iterator[str]:
    name = f"editroom_template_{secrets.token_hex(4)}"
    migrations.upgrade(create_database(postgres_server_url, name))
    yield name
    drop_database(postgres_server_url, name)


@pytest.fixture
def database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    """A freshly migrated database of this test's own."""
    name = f"editroom_test_{secrets.token_hex(6)}"
    url = create_database(postgres_server_url, name, template=template_database)
    yield url
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="module")
def module_database_url(postgres_server_url: str, template_database: str) -> Iterator[str]:
    """A freshly migrated database shared by the tests of one module (real processes that
    are slow to start serve them all)."""
    name = f"editroom_module_{secrets.token_hex(6)}"
    url = create_database(postgres_server_url, name, template=template_database)
    yield url
    drop_database(postgres_server_url, name)


@pytest.fixture
def empty_database_url(postgres_server_url: str) -> Iterator[str]:
    name = f"editroom_empty_{secrets.token_hex(6)}"
    yield create_database(postgres_server_url, name)
    drop_database(postgres_server_url, name)


@pytest.fixture
def conn(database_url: str) -> Iterator["psycopg.Connection[dict[str, Any]]"]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as connection:
        yield connection


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3 server, shared by the session; each test makes its own bucket."""
    with moto_s3() as endpoint:
        yield endpoint
