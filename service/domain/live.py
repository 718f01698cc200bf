"""One live stream of many edits, for a page that shows a session, a workflow's executions,
a media's edits or the whole queue: every change of a matching edit, and the status counts.

It rides on the service's one LISTEN connection (events.py): a notification names an edit,
the stream re-reads the edits it was told of (one query for all of them) and passes on those
in its scope. Counts go out at most once per STATS_INTERVAL_SECONDS, and only when they
changed. When notifications may have been missed (a lost LISTEN connection), the stream says
`reset` and the client reads everything again; a reader that fell MAX_PENDING_IDS edits
behind is not followed further (the stream ends, and the client reconnects)."""

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from service.domain.events import EditEvents
from service.kernel.db import Database, Row

STATS_INTERVAL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0

Kind = Literal["edit", "stats", "reset", "keep-alive"]


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which edits a stream is about; all None: every edit."""

    session_id: UUID | None = None
    workflow_id: UUID | None = None
    media_id: UUID | None = None


@dataclass(frozen=True)
class LiveEvent:
    kind: Kind
    edit: Row | None = None
    counts: dict[str, int] | None = None


class LiveEdits:
    def __init__(self, database: Database, events: EditEvents) -> None:
        self._database = database
        self._events = events

    @property
    def stopping(self) -> bool:
        """The service is stopping: watches end (not because their readers fell behind)."""
        return self._events.closing

    async def counts(self) -> dict[str, int]:
        rows = await self._database.fetch_all("status_counts")
        return {row["status"]: row["count"] for row in rows}

    async def watch(self, scope: Scope) -> AsyncIterator[LiveEvent]:
        """The counts now, then each change in scope, counts when they change, and a
        keep-alive after KEEPALIVE_SECONDS of quiet. Ends when its reader fell too far behind
        (`behind`), or when the service is stopping."""
        async with self._events.subscribe_all() as feed:
            last_counts = await self.counts()
            yield LiveEvent("stats", counts=last_counts)
            counted_at, stats_due = time.monotonic(), False
            while not feed.overflowed and not self._events.closing:
                ids, missed = feed.take()
                if missed:
                    yield LiveEvent("reset")
                for row in await self._changed(ids, scope):
                    yield LiveEvent("edit", edit=row)
                stats_due = stats_due or bool(ids) or missed
                wait = STATS_INTERVAL_SECONDS - (time.monotonic() - counted_at)
                if stats_due and wait <= 0:
                    counted_at, stats_due = time.monotonic(), False
                    counts = await self.counts()
                    if counts != last_counts:
                        last_counts = counts
                        yield LiveEvent("stats", counts=counts)
                    continue
                try:
                    timeout = wait if stats_due else KEEPALIVE_SECONDS
                    await asyncio.wait_for(feed.changed.wait(), timeout)
                except TimeoutError:
                    if not stats_due:
                        yield LiveEvent("keep-alive")

    async def _changed(self, ids: list[UUID], scope: Scope) -> list[Row]:
        if not ids:
            return []
        return await self._database.fetch_all(
            "edits_changed", ids=ids, session_id=scope.session_id,
            workflow_id=scope.workflow_id, media_id=scope.media_id,
        )  # fmt: skip
