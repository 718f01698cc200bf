"""Shared fixtures: one PostgreSQL server per test session (embedded unless DATABASE_URL is
set), a template database migrated once, and a fresh database per test cloned from it."""

import os
import secrets
import shutil
import tempfile
import time
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
# EDITROOM_TEST_PG_DIR names another place (a disk, when memory is short).
MEMORY_DIR = Path("/dev/shm")
MEMORY_DIR_MIN_FREE_BYTES = 2 * 1024**3
MIN_AVAILABLE_MEMORY_BYTES = 4 * 1024**3  # tmpfs lives in RAM: what the rest of the suite needs
IN_MEMORY_SETTINGS = {"max_wal_size": "256MB"}
STALE_AFTER_SECONDS = 600  # a data directory this old without its server is a killed session's


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
    chosen = os.environ.get("EDITROOM_TEST_PG_DIR")
    in_memory = not chosen and _has_room(MEMORY_DIR)
    parent = Path(chosen) if chosen else MEMORY_DIR if in_memory else Path(tempfile.gettempdir())
    _remove_stale_servers(parent)
    data_dir = Path(tempfile.mkdtemp(prefix=TEST_SERVER_PREFIX, dir=parent))
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


TEST_SERVER_PREFIX = "editroom-test-pg-"


def _has_room(directory: Path) -> bool:
    """Whether the test server's files may live in `directory`, a tmpfs: writable, with room
    (a container's /dev/shm is often 64 MB), and the machine's memory not short, as what is
    written there is held in RAM."""
    if not (directory.is_dir() and os.access(directory, os.W_OK)):
        return False
    return (
        shutil.disk_usage(directory).free >= MEMORY_DIR_MIN_FREE_BYTES
        and _available_memory_bytes() >= MIN_AVAILABLE_MEMORY_BYTES
    )


def _available_memory_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def _remove_stale_servers(parent: Path) -> None:
    """Remove the data directories that killed test sessions left (their server gone, no
    cleanup ran): in memory they would hold RAM until the machine restarts. A young one may
    be a concurrent session's, about to start its server: left alone."""
    for data_dir in parent.glob(f"{TEST_SERVER_PREFIX}*"):
        try:
            age = time.time() - data_dir.stat().st_mtime
        except OSError:
            continue
        if age >= STALE_AFTER_SECONDS and not _server_running(data_dir / "pgdata"):
            shutil.rmtree(data_dir, ignore_errors=True)


def _server_running(pgdata: Path) -> bool:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
