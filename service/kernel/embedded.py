"""The embedded PostgreSQL of `editroom run` and `make test`: the pgserver wheel, no install."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql

DATABASE_NAME = "editroom"
CleanupMode = Literal["stop", "delete"]


@contextmanager
def embedded_postgres(data_dir: Path, *, cleanup: CleanupMode = "stop") -> Iterator[str]:
    """Start (or join) the server whose files live in data_dir/pgdata; yield its server URL.

    The server is stopped when the block exits ("delete" also removes its files). It listens
    on a Unix socket inside its data directory only, never on a TCP port.
    """
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset; nothing to act on.
        warnings.simplefilter("ignore")
        from pgserver.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir.resolve() / "pgdata", cleanup_mode=cleanup)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def running_database_url(data_dir: Path) -> str | None:
    """The URL of the editroom database on the embedded server whose files live in
    data_dir/pgdata, while that server runs (an `editroom run` beside you); else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as above
        from pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir.resolve() / "pgdata")
    if info is None or not info.is_running():
        return None
    return info.get_uri(database=DATABASE_NAME)


def client_binary(name: str) -> Path:
    """A PostgreSQL program shipped in the pgserver wheel: psql, pg_dump, pg_isready, ..."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as above
        from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def ensure_database(server_url: str, name: str = DATABASE_NAME) -> str:
    """Create database `name` on the server if it is missing; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(server_url, dbname=name)
