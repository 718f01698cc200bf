"""The one database boundary: a psycopg pool, named queries, LISTEN, and error translation.

The service and the runner both go through here. Queries live in queries.sql under
`-- name: ...` headers; nothing builds SQL from strings.
"""

import contextlib
import re
import select
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from psycopg_pool.base import AttemptWithBackoff

from service.kernel.errors import (
    Conflict,
    DatabaseUnavailable,
    EditroomError,
    HeldBySession,
    InvalidInput,
    NotFound,
)

Row = dict[str, Any]

QUERIES_FILE = Path(__file__).with_name("queries.sql")
# How long opening the pool keeps trying for its first connection (a PostgreSQL still starting
# gets this long); the default of EDITROOM_DB_POOL_OPEN_TIMEOUT_SECONDS, which the commands pass.
POOL_OPEN_TIMEOUT_SECONDS = 10.0
# How long a query waits for a pooled connection: while PostgreSQL is down a request fails
# fast (a 503 with Retry-After) instead of hanging for psycopg_pool's default 30 s. The default
# of EDITROOM_DB_POOL_TIMEOUT_SECONDS, which the commands pass.
GETCONN_TIMEOUT_SECONDS = 2.0
RECONNECT_MAX_DELAY_SECONDS = 0.5  # between reconnection attempts, so recovery is prompt
# How long taking the wake slots waits for a writer's transaction that holds one (it skipped
# its NOTIFY): a transaction left open must not stall a watcher, which polls meanwhile.
WATCH_LOCK_TIMEOUT_MS = 200

# SQLSTATEs of editroom's own, each raised by one function for one refusal, read before the
# classes below (each in a class that translates as it should without it).
_OWN_SQLSTATES: dict[str, type[EditroomError]] = {
    "23R01": HeldBySession,  # delete_media: the media is a session step's output
}
# Most specific first: the first match wins.
_TRANSLATIONS: tuple[tuple[type[Exception], type[EditroomError]], ...] = (
    (pg_errors.NoDataFound, NotFound),
    (pg_errors.ObjectNotInPrerequisiteState, Conflict),
    (pg_errors.IntegrityError, Conflict),
    (pg_errors.DataError, InvalidInput),
    (psycopg.OperationalError, DatabaseUnavailable),
)


def load_queries(path: Path) -> dict[str, str]:
    """Split a file of `-- name: x` sections into {name: statement}."""
    queries: dict[str, str] = {}
    for section in re.split(r"^-- name: ", path.read_text(), flags=re.MULTILINE)[1:]:
        name, _, body = section.partition("\n")
        queries[name.strip()] = body.strip()
    return queries


QUERIES = load_queries(QUERIES_FILE)


@contextmanager
def translated_errors() -> Iterator[None]:
    """Re-raise psycopg errors as editroom's own, keeping PostgreSQL's message."""
    try:
        yield
    except psycopg.Error as exc:
        domain_class = _OWN_SQLSTATES.get(exc.sqlstate or "") or next(
            (domain for pg_class, domain in _TRANSLATIONS if isinstance(exc, pg_class)), None
        )
        if domain_class is None:
            raise
        raise domain_class(exc.diag.message_primary or str(exc)) from exc


async def _translated(
    notifications: AsyncIterator[psycopg.Notify],
) -> AsyncIterator[psycopg.Notify]:
    with translated_errors():
        async for notification in notifications:
            yield notification


class _PromptBackoff(AttemptWithBackoff):
    """psycopg_pool's reconnection back-off doubles from 1 s without bound: PostgreSQL back
    after a minute's outage would wait up to half a minute more for the pool to notice. This
    one starts at a tenth of a second and never waits more than RECONNECT_MAX_DELAY_SECONDS."""

    INITIAL_DELAY = 0.1

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_MAX_DELAY_SECONDS)


class _Pool(AsyncConnectionPool[psycopg.AsyncConnection[Row]]):
    # Why the last connection attempt failed: psycopg_pool only logs it, and its PoolTimeout
    # says no more than that the pool did not fill in time.
    last_connect_error: psycopg.OperationalError | None = None

    async def _connect(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 (psycopg_pool's own signature)
    ) -> psycopg.AsyncConnection[Row]:
        try:
            return await super()._connect(timeout)
        except psycopg.OperationalError as exc:
            self.last_connect_error = exc
            raise

    async def _add_connection(
        self, attempt: AttemptWithBackoff | None, growing: bool = False
    ) -> None:
        # psycopg_pool makes its default back-off here when a reconnection starts.
        attempt = attempt or _PromptBackoff(timeout=self.reconnect_timeout)
        await super()._add_connection(attempt, growing)


Pool = AsyncConnectionPool[psycopg.AsyncConnection[Row]]


async def _checked_if_it_spoke(conn: psycopg.AsyncConnection[Any]) -> None:
    """Ping a pooled connection before it is handed out only if the server sent it something
    while it sat idle: a server that restarts or ends the session (pg_terminate_backend,
    idle_session_timeout) writes its FATAL and closes the socket, which the idle connection
    never read. Otherwise nothing was said (no query was running, and pooled sessions do not
    LISTEN), and the session is as usable as when it was returned: the check is one poll of
    the socket, not a round trip."""
    if conn.closed or _spoke(conn.fileno()):
        await AsyncConnectionPool.check_connection(conn)


def _spoke(fd: int) -> bool:
    """Whether anything waits to be read on this socket (data, end of file, an error), now."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


# How every connection of ours is made, unless DATABASE_URL says otherwise. Keepalives make a
# silent peer speak: a host that died, or a load balancer or NAT that forgot an idle flow,
# leaves an error on the socket within about a minute, which _spoke then finds (and the
# probes keep an idle flow alive). A connection attempt gives up after CONNECT_TIMEOUT_SECONDS
# (libpq's minimum is 2), so a claim or a LISTEN never waits minutes on an unreachable host.
CONNECT_TIMEOUT_SECONDS = 5
_CONNECTION_DEFAULTS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms: data written but not acknowledged for this long fails
}


def where(url: str) -> str:
    """The database a DATABASE_URL names, as host:port/dbname: never its password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "DATABASE_URL"
    host = parts.get("host") or "the default socket"
    database = f"/{parts['dbname']}" if parts.get("dbname") else ""
    return f"{host}:{parts.get('port') or 5432}{database}"


def unusable(url: str, error: Exception) -> DatabaseUnavailable:
    """The one way a command says it cannot use its database: where that is, what PostgreSQL
    or the network answered (on one line), and what to check."""
    answer = " ".join(str(error).split())
    return DatabaseUnavailable(
        f"cannot use PostgreSQL at {where(url)}: {answer} (start it, or correct DATABASE_URL: "
        "its host, port, database, user or password)"
    )


def connection_settings(url: str, **settings: Any) -> dict[str, Any]:
    """`settings`, plus each of our defaults that `url` does not set itself."""
    given = conninfo_to_dict(url)
    defaults = {key: value for key, value in _CONNECTION_DEFAULTS.items() if key not in given}
    return {**defaults, **settings}


# The transaction a task is in (Database.transaction), with the database it belongs to.
_TRANSACTION: ContextVar[tuple["Database", psycopg.AsyncConnection[Row]] | None] = ContextVar(
    "editroom_transaction", default=None
)


class Database:
    """A connection pool plus the named queries of queries.sql. A connection the server spoke
    to while it sat in the pool is checked as it is handed out (one empty round trip): after
    PostgreSQL restarts, a stale one is replaced, never given to a query that would fail on
    it. The others skip the round trip, which would double an idle runner's wake-up (its
    claim's connection was always idle) and the round trips of every short query. A peer that
    went silent (a dead host, a forgotten flow) is made to speak by TCP keepalives
    (connection_settings), so its connection too is found and replaced before it is used."""

    def __init__(self, pool: Pool, url: str, kwargs: dict[str, Any]) -> None:
        self._pool = pool
        self._url = url
        self._kwargs = kwargs  # how each of its connections is made

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        max_size: int = 10,
        durable_commits: bool = True,
        getconn_timeout: float = GETCONN_TIMEOUT_SECONDS,
        open_timeout: float = POOL_OPEN_TIMEOUT_SECONDS,
    ) -> AsyncIterator["Database"]:
        """durable_commits=False: commits return before the WAL is flushed (runners; see
        docs/decisions.md). Completions and failures are durable whatever the session says.
        `getconn_timeout`: how long a query waits for a connection before DatabaseUnavailable.
        `open_timeout`: how long it tries for its first connection before it gives up."""
        kwargs = connection_settings(url, autocommit=True, row_factory=dict_row)
        if not durable_commits:
            kwargs["options"] = "-c synchronous_commit=off"
        pool = _Pool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            kwargs=kwargs,
            timeout=getconn_timeout,
            check=_checked_if_it_spoke,
        )
        try:
            await pool.open(wait=True, timeout=open_timeout)
        except psycopg.OperationalError as exc:  # PoolTimeout: no connection in time
            await pool.close()  # or it goes on trying, and logging each try, in the background
            raise unusable(url, pool.last_connect_error or exc) from exc
        try:
            yield cls(pool, url, kwargs)
        finally:
            await pool.close()

    async def fetch_all(self, query: str, **params: Any) -> list[Row]:
        with translated_errors():
            held = _TRANSACTION.get()
            if held is not None and held[0] is self:
                cursor = await held[1].execute(QUERIES[query], params)
                return await cursor.fetchall()
            async with self._pool.connection() as conn:
                cursor = await conn.execute(QUERIES[query], params)
                return await cursor.fetchall()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Every query this task makes inside the block runs in one transaction on one
        connection: committed when the block ends, rolled back when it raises. For work whose
        steps must commit together (an idempotency key and the edits it made); everything
        else runs each query on its own (autocommit)."""
        if _TRANSACTION.get() is not None:
            raise RuntimeError("a transaction is open in this task already")
        with translated_errors():
            async with self._pool.connection() as conn, conn.transaction():
                token = _TRANSACTION.set((self, conn))
                try:
                    yield
                finally:
                    _TRANSACTION.reset(token)

    async def fetch_one(self, query: str, **params: Any) -> Row | None:
        rows = await self.fetch_all(query, **params)
        return rows[0] if rows else None

    def own_connection(self) -> "OwnConnection":
        """A connection of its own, made like the pool's, for one caller's hot path."""
        return OwnConnection(self._url, self._kwargs)

    def wake_slots(self, *channels: str) -> "WakeSlots":
        """A session of its own that can hold these channels' wake slots (see WakeSlots)."""
        return WakeSlots(self._url, *channels)

    @asynccontextmanager
    async def listen(self, *channels: str) -> AsyncIterator[AsyncIterator[psycopg.Notify]]:
        """LISTEN on its own session connection (a pooled one may be handed to others)."""
        with translated_errors():
            conn = await psycopg.AsyncConnection.connect(
                self._url, **connection_settings(self._url, autocommit=True)
            )
        try:
            statements = [sql.SQL("LISTEN {}").format(sql.Identifier(ch)) for ch in channels]
            await conn.execute(sql.SQL("; ").join(statements))
            yield _translated(conn.notifies())
        finally:
            await conn.close()


class OwnConnection:
    """A connection kept for one caller whose every query is on a hot path: a runner's claims,
    the first thing it sends when a NOTIFY wakes it. Nothing stands between the call and the
    query (the pool's hand-out, its lock, the return afterwards: some 60-100 us of an idle
    runner's wake-up, several times that at the tail). It is made lazily and replaced the
    way the pool replaces its own: one the server spoke to while it sat idle (_spoke), or
    one a query found broken, is closed, and the next query makes a new one. Queries on it
    are not part of a Database.transaction(); its caller sends one at a time."""

    def __init__(self, url: str, kwargs: dict[str, Any]) -> None:
        self._url = url
        self._kwargs = kwargs
        self._conn: psycopg.AsyncConnection[Row] | None = None

    async def fetch_all(self, query: str, **params: Any) -> list[Row]:
        with translated_errors():
            conn = await self._usable()
            cursor = await conn.execute(QUERIES[query], params)
            return await cursor.fetchall()

    async def _usable(self) -> psycopg.AsyncConnection[Row]:
        if self._conn is not None and (self._conn.closed or _spoke(self._conn.fileno())):
            await self.close()
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self._url, **self._kwargs)
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()


class WakeSlots:
    """A watcher's hold on channels' wake slots (db/functions/040_edit_triggers.sql): while a
    channel is held, statements NOTIFY it; otherwise they skip the NOTIFY whenever no one else
    watches. LISTEN first, then `watch()`, then read: nothing is missed. A runner watches the
    queue one lane at a time (`editroom_queue:image`, ...: `watch("editroom_queue:video")`);
    `watch()` and `unwatch()` without arguments take every channel it was made with.

    The locks live on a session of their own (the LISTEN connection is busy waiting for
    notifications). Should that session die, the locks go with it and statements stop
    notifying: `check()` finds out, and a watcher then watches again and re-reads. Taking the
    slots waits at most WATCH_LOCK_TIMEOUT_MS for a writer's open transaction; then `watch()`
    lets go of what it took of those channels and raises DatabaseUnavailable (the channels
    it already watched stay watched): the watcher polls and tries again."""

    def __init__(self, url: str, *channels: str) -> None:
        self._url = url
        self._channels = channels
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self.watching: set[str] = set()

    @property
    def held(self) -> bool:
        """Whether any channel is watched."""
        return bool(self.watching)

    async def watch(self, *channels: str) -> None:
        wanted = [ch for ch in channels or self._channels if ch not in self.watching]
        if not wanted:
            return
        try:
            await self._run("watch_channels", channels=wanted)
        except DatabaseUnavailable:
            if self._conn is not None:  # the session lives: a writer's open transaction
                with contextlib.suppress(DatabaseUnavailable):  # let go of what was taken
                    await self._run("unwatch_channels", channels=wanted)
            raise
        self.watching.update(wanted)

    async def unwatch(self, *channels: str) -> None:
        held = [ch for ch in channels or self._channels if ch in self.watching]
        if held:
            self.watching.difference_update(held)
            await self._run("unwatch_channels", channels=held)

    async def check(self) -> bool:
        """Whether the slots are still held. False: the session was lost, and every slot with
        it; the session is closed and `watching` is empty, so `watch()` takes again whatever
        is still wanted, on a new session."""
        if not self.held:
            return False
        try:
            await self._run("still_connected")
        except DatabaseUnavailable:
            await self.close()  # _run closed it already; said here, where check() promises it
            return False
        return True

    async def close(self) -> None:
        self.watching.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def _run(self, query: str, **params: Any) -> None:
        with translated_errors():
            try:
                if self._conn is None or self._conn.closed:
                    self._conn = await psycopg.AsyncConnection.connect(
                        self._url,
                        **connection_settings(
                            self._url,
                            autocommit=True,
                            options=f"-c lock_timeout={WATCH_LOCK_TIMEOUT_MS}",
                        ),
                    )
                await self._conn.execute(QUERIES[query], params)
            except psycopg.errors.LockNotAvailable:
                raise  # a writer's open transaction; the session and its other watches live
            except psycopg.OperationalError:
                await self.close()  # the locks went with the session
                raise
