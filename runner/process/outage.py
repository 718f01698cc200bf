"""When the database or the store fails, a runner backs off as a whole.

Without this, a runner keeps claiming through an outage, and every edit it claims fails on
the outage and uses up one of its trials: a minute's outage failed edits for good. Instead,
the first attempt that meets DatabaseUnavailable or StorageError starts an outage: the runner
stops claiming, hands that attempt back (editroom.release_edit: queued again, no trial lost),
and probes both with growing intervals (FIRST_PROBE_SECONDS doubling up to
MAX_PROBE_SECONDS) until both answer; then it claims again. The database calls that end an
attempt (complete, fail, release) are retried through a short outage rather than dropped,
so a finished result is never redone for want of a connection."""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from service.kernel.db import Database
from service.kernel.errors import DatabaseUnavailable, StorageError, Unavailable
from service.kernel.storage.base import Storage

log = logging.getLogger(__name__)

T = TypeVar("T")
OUTAGE_ERRORS = (DatabaseUnavailable, StorageError)
FIRST_PROBE_SECONDS = 0.25
MAX_PROBE_SECONDS = 2.0  # so a runner resumes within about this long of the outage's end
PROBE_KEY = "health/probe"  # a key never stored: stat() answers None when the store is up


class Outage:
    """Whether this runner's database or store is down, and the wait until both are back."""

    def __init__(self, *, database: Database, storage: Storage) -> None:
        self._database = database
        self._storage = storage
        self._since: float | None = None

    @property
    def active(self) -> bool:
        return self._since is not None

    def begin(self, error: Unavailable) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning("outage: pausing claims", extra={"error": str(error)})

    async def wait_over(self) -> None:
        """Probe with growing intervals until the database and the store both answer."""
        delay = FIRST_PROBE_SECONDS
        while not await self._healthy():
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_PROBE_SECONDS)
        if self._since is not None:
            seconds = round(time.monotonic() - self._since, 2)
            log.warning("outage over: claiming again", extra={"seconds": seconds})
        self._since = None

    async def _healthy(self) -> bool:
        try:
            await self._database.fetch_one("schema_revision")
            await self._storage.stat(PROBE_KEY)
        except OUTAGE_ERRORS:
            return False
        return True


async def persistently(call: Callable[[], Awaitable[T]], *, patience_seconds: float) -> T:
    """call(), again with growing pauses while the database is unavailable, for up to
    patience_seconds (then its DatabaseUnavailable is raised)."""
    deadline = time.monotonic() + patience_seconds
    delay = FIRST_PROBE_SECONDS
    while True:
        try:
            return await call()
        except DatabaseUnavailable:
            if time.monotonic() + delay > deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_PROBE_SECONDS)
