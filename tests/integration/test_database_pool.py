"""The pool hands a connection out without a round trip, unless the server spoke to it while it
sat idle: then it is pinged first, and a session the server ended meanwhile (a restart, a
terminated backend) is replaced, never given to a query that would fail on it."""

import asyncio
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from service.kernel import db
from service.kernel.db import Database
from tests.queue import Conn
from tests.waiting import eventually

IDLE_SECONDS = 1.5  # longer than a pooled connection once sat before it was pinged again


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The connections pinged as they were handed out, by the pool's check."""
    pinged: list[Any] = []
    ping = AsyncConnectionPool.check_connection

    async def counted(conn: Any) -> None:
        pinged.append(conn)
        await ping(conn)

    monkeypatch.setattr(AsyncConnectionPool, "check_connection", counted)
    monkeypatch.setitem(db.QUERIES, "backend_pid", "SELECT pg_backend_pid() AS pid")
    return pinged


async def backend_pid(database: Database) -> int:
    row = await database.fetch_one("backend_pid")
    assert row is not None
    return int(row["pid"])


def test_an_idle_connection_nothing_happened_to_is_used_without_a_ping(
    database_url: str, pings: list[Any]
) -> None:
    async def run() -> tuple[int, int]:
        async with Database.connect(database_url, max_size=1) as database:
            first = await backend_pid(database)
            pings.clear()  # the pool's first hand-out may check the new connection
            await asyncio.sleep(IDLE_SECONDS)
            return first, await backend_pid(database)

    first, then = asyncio.run(run())
    assert then == first
    assert pings == []


def test_a_session_the_server_ended_is_replaced_before_a_query_uses_it(
    database_url: str, conn: Conn, pings: list[Any]
) -> None:
    def gone(pid: int) -> bool:
        row = conn.execute(
            "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = %s) AS gone", [pid]
        ).fetchone()
        return row is not None and bool(row["gone"])

    def end(pid: int) -> None:
        conn.execute("SELECT pg_terminate_backend(%s)", [pid])
        eventually(lambda: gone(pid), what=f"backend {pid} to exit")

    async def run() -> tuple[int, int]:
        async with Database.connect(database_url, max_size=1) as database:
            first = await backend_pid(database)
            await asyncio.to_thread(end, first)
            return first, await backend_pid(database)  # at once: no idle time to go by

    first, then = asyncio.run(run())
    assert then != first
    assert len(pings) == 1


def test_connections_keep_alive_and_give_up_connecting_unless_the_url_says_otherwise(
    database_url: str,
) -> None:
    """Keepalives make a silent peer (a dead host, a forgotten flow) leave an error on the
    socket, which the hand-out's poll finds; a connection attempt gives up in seconds."""

    async def run() -> tuple[dict[str, str], dict[str, str]]:
        async with Database.connect(database_url, max_size=1) as database:
            async with database._pool.connection() as pooled:
                pool_settings = pooled.info.get_parameters()
            own = database.own_connection()
            try:
                await own.fetch_all("backend_pid")
                assert own._conn is not None
                return pool_settings, own._conn.info.get_parameters()
            finally:
                await own.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(db.QUERIES, "backend_pid", "SELECT pg_backend_pid() AS pid")
        for parameters in asyncio.run(run()):
            assert parameters["keepalives"] == "1"
            assert parameters["keepalives_idle"] == "30"
            assert parameters["connect_timeout"] == str(db.CONNECT_TIMEOUT_SECONDS)


def test_the_database_url_s_own_connection_settings_win() -> None:
    url = "postgresql://editroom@db.example/editroom?keepalives_idle=5&connect_timeout=20"
    settings = db.connection_settings(url, autocommit=True)
    assert "keepalives_idle" not in settings and "connect_timeout" not in settings
    assert settings["keepalives"] == 1 and settings["autocommit"] is True
