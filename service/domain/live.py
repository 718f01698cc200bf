"""One live stream of many edits, for a page that shows a session, a workflow's executions,
a media's edits or the whole queue: every change of a matching edit, and the status counts;
and for the library, each media that became ready or was deleted.

It rides on the service's one LISTEN connection (events.py): a notification names an edit,
the stream re-reads the edits it was told of (one query for all of them) and passes on those
in its scope; a media's notification the same way, the media read again (gone: deleted).
Counts go out at most once per STATS_INTERVAL_SECONDS, and only when they changed. When
notifications may have been missed (a lost LISTEN connection), the stream says `reset` and the
client reads everything again; a reader that fell MAX_PENDING_IDS edits behind is not followed
further (the stream ends, and the client reconnects).

Streams told of the same changes share their reads (events.Shared) and the frames made of
them (LiveEvent.frame): every stream is told of every edit at once, so a page left open by
hundreds of people costs one read and one rendering per change, not one per page."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal
from uuid import UUID

from service.domain.events import EditEvents, Shared
from service.kernel.db import Database, Row

STATS_INTERVAL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0

Kind = Literal["edit", "media", "media-deleted", "stats", "reset", "keep-alive"]


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Which edits a stream is about; all None: every edit."""

    session_id: UUID | None = None
    workflow_id: UUID | None = None
    media_id: UUID | None = None

    def holds(self, edit: Row) -> bool:
        return all(
            wanted is None or edit[column] == wanted
            for column, wanted in (("session_id", self.session_id),
                                   ("workflow_id", self.workflow_id),
                                   ("media_id", self.media_id))
        )  # fmt: skip

    @property
    def told_of_media(self) -> bool:
        """The library's changes are for a stream of every edit, or of one media's (only
        such streams have them notified: events.py)."""
        return self.session_id is None and self.workflow_id is None

    def holds_media(self, media_id: UUID) -> bool:
        return self.told_of_media and (self.media_id is None or self.media_id == media_id)


@dataclass(eq=False)
class LiveEvent:
    """What a stream passes on. An edit's event is one object for every stream told of it,
    so that it is made into a frame once (`frame`), however many streams send it."""

    kind: Kind
    edit: Row | None = None
    media: Row | None = None  # a media ready, as read
    media_id: UUID | None = None  # of `media`, or of a media deleted
    counts: dict[str, int] | None = None
    _frame: str | None = field(default=None, init=False, repr=False)

    def frame(self, render: Callable[["LiveEvent"], str]) -> str:
        """The event as `render` makes it (every stream's is the route's), made once."""
        if self._frame is None:
            self._frame = render(self)
        return self._frame


class LiveEdits:
    def __init__(self, database: Database, events: EditEvents) -> None:
        self._database = database
        self._events = events
        self._counts: Shared[dict[str, int]] = Shared(events)
        self._changes: Shared[list[LiveEvent]] = Shared(events)
        self._media: Shared[list[LiveEvent]] = Shared(events)

    @property
    def stopping(self) -> bool:
        """The service is stopping: watches end (not because their readers fell behind)."""
        return self._events.closing

    async def counts(self) -> dict[str, int]:
        return await self._counts.read(None, self._read_counts)

    async def _read_counts(self) -> dict[str, int]:
        rows = await self._database.fetch_all("status_counts")
        return {row["status"]: row["count"] for row in rows}

    async def watch(self, scope: Scope) -> AsyncIterator[LiveEvent]:
        """The counts now, then each change in scope, counts when they change, and a
        keep-alive after KEEPALIVE_SECONDS of quiet. Ends when its reader fell too far behind
        (`behind`), or when the service is stopping."""
        async with self._events.subscribe_all(media=scope.told_of_media) as feed:
            last_counts = await self.counts()
            yield LiveEvent("stats", counts=last_counts)
            counted_at, stats_due = time.monotonic(), False
            while not feed.overflowed and not self._events.closing:
                ids, missed = feed.take()
                media_ids = feed.take_media()
                if missed:
                    yield LiveEvent("reset")
                for event in await self._changed(ids, scope):
                    yield event
                for event in await self._media_changed(media_ids, scope):
                    yield event
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

    async def _changed(self, ids: list[UUID], scope: Scope) -> list[LiveEvent]:
        """The edits told of, as they are now, those in `scope`: read for every scope at
        once, so that streams of any scope told of the same edits share the read."""
        if not ids:
            return []
        told = tuple(ids)
        changed = await self._changes.read(told, lambda: self._read_changed(told))
        return [event for event in changed if event.edit is not None and scope.holds(event.edit)]

    async def _read_changed(self, ids: tuple[UUID, ...]) -> list[LiveEvent]:
        rows = await self._database.fetch_all("edits_changed", ids=list(ids))
        return [LiveEvent("edit", edit=row) for row in rows]

    async def _media_changed(self, ids: list[UUID], scope: Scope) -> list[LiveEvent]:
        """The media told of, as they are now (not ready any more: deleted), those in `scope`;
        read for every scope at once, as edits are."""
        if not any(scope.holds_media(media_id) for media_id in ids):
            return []
        told = tuple(ids)
        changed = await self._media.read(told, lambda: self._read_media(told))
        return [event for event in changed if event.media_id and scope.holds_media(event.media_id)]

    async def _read_media(self, ids: tuple[UUID, ...]) -> list[LiveEvent]:
        ready = await self._database.fetch_all("media_changed", ids=list(ids))
        rows = {row["id"]: row for row in ready}
        return [
            LiveEvent("media", media=rows[media_id], media_id=media_id) if media_id in rows
            else LiveEvent("media-deleted", media_id=media_id)
            for media_id in ids
        ]  # fmt: skip
