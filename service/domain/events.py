"""One LISTEN connection for the whole service. Every SSE stream and every `?wait=` request
subscribes here, per edit, instead of holding a connection of its own. The library's changes
(a media ready, or deleted: db/functions/220_media_events.sql) come on a channel of their own,
MEDIA_CHANNEL, heard on the same connection for the feeds of `/events` streams that show the
library.

A notification says "look again": subscribers re-read the edit, and a dropped connection loses
nothing (on reconnect every subscriber looks again). It also says what the edit became
(status, trial, progress), which a subscription keeps until it is taken, so that a follower can
tell of a state the edit had already left when it was read (a fast edit's `processing`).

Statements send these notifications only while someone watches (db/functions/040, wake
slots), and the service watches each channel apart: it holds a channel's wake slots, on a
session of its own, from the first subscriber that wants the channel until
UNWATCH_AFTER_SECONDS after the last. Every subscriber wants the edits' (CHANNEL); only a feed
that shows the library wants the media's, so an upload's commit notifies (and takes the
cluster-wide notify lock) while a library is open, not while someone waits for an edit. A
subscription is made, then its channels' slots are held (on a LISTEN already connected), then
the subscriber reads the edit (or makes it): whatever changes after that is notified, whatever
committed before it is read. The watch's session is checked every WATCH_CHECK_SECONDS; should
it have died (its locks with it), the channels still wanted are taken again and their
subscribers look again, as after a lost LISTEN. While a channel's slots cannot be taken (a
writer's transaction left open holds one, or the database is away), its subscribers look
again every WATCH_CHECK_SECONDS: a poll, until the watch is back."""

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager, suppress
from typing import Any, Generic, TypeVar
from uuid import UUID

from service.kernel.db import Database
from service.kernel.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

CHANNEL = "editroom_edit_events"
MEDIA_CHANNEL = "editroom_media_events"  # runners LISTEN to CHANNEL, never woken by these
CHANNELS = (CHANNEL, MEDIA_CHANNEL)
STATE_FIELDS = ("status", "trial", "progress")
RECONNECT_SECONDS = 1.0
WATCH_CHECK_SECONDS = 0.5
UNWATCH_AFTER_SECONDS = 1.0  # a lull between two `?wait=` requests (or page loads) keeps a watch


MAX_KEPT_STATES = 256  # per subscription, between two reads of the edit


class Subscription:
    """One subscriber's view of one edit: `changed` is set whenever the edit may have
    changed; `take()` gives the states the notifications announced since the last take.

    One made before its edit (no id yet: the edit is about to be made) keeps every edit's
    announced states until it is bound to its edit's id (EditEvents.bind)."""

    def __init__(self, edit_id: UUID | None = None) -> None:
        self.edit_id = edit_id
        self.changed = asyncio.Event()
        self._states: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT_STATES)
        self._unbound: deque[tuple[UUID, dict[str, Any]]] = deque(maxlen=MAX_KEPT_STATES)
        self._missed = False

    def take(self) -> list[dict[str, Any]]:
        """The states announced since the last take; empty when one may have been missed
        (look again)."""
        self.changed.clear()
        states = [] if self._missed else list(self._states)
        self._states.clear()
        self._missed = False
        return states

    def notify(self, state: dict[str, Any] | None) -> None:
        """The edit may have changed; to `state` when the notification said (None: a missed
        notification is possible, as after a lost LISTEN connection)."""
        if state is None:
            self._missed = True
        else:
            self._states.append(state)
        self.changed.set()

    def keep(self, edit_id: UUID, state: dict[str, Any]) -> None:
        """Before it is bound: a state of some edit, perhaps the one about to be made."""
        if len(self._unbound) == self._unbound.maxlen:
            self._missed = True  # the oldest is dropped: it may have been ours
        self._unbound.append((edit_id, state))

    def bind(self, edit_id: UUID) -> None:
        """Its edit is `edit_id`: what was announced of it so far is announced now."""
        self.edit_id = edit_id
        kept, self._unbound = self._unbound, deque()
        for announced, state in kept:
            if announced == edit_id:
                self.notify(state)
        if self._missed:
            self.changed.set()


MAX_PENDING_IDS = 10_000  # per feed, between two reads; past it the reader is dropped


class Feed:
    """One subscriber's view of every edit, and of the library's media when it asked for them
    (EditEvents.subscribe_all): the ids of the edits (and apart, of the media) that may have
    changed since the last take. A feed that is not read keeps at most MAX_PENDING_IDS of
    both, then is `overflowed` and keeps nothing more: its reader has fallen too far behind and
    should start again, so a slow reader costs bounded memory and never slows the LISTEN
    connection."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.overflowed = False
        self._ids: dict[UUID, None] = {}  # insertion-ordered set
        self._media_ids: dict[UUID, None] = {}
        self._missed = False

    def take(self) -> tuple[list[UUID], bool]:
        """The edits announced since the last take, and whether some may have gone unannounced
        (edits or media: read everything again)."""
        self.changed.clear()
        ids, missed = list(self._ids), self._missed
        self._ids.clear()
        self._missed = False
        return ids, missed

    def take_media(self) -> list[UUID]:
        """The media announced since the last take (take() says whether some were missed)."""
        ids = list(self._media_ids)
        self._media_ids.clear()
        return ids

    def notify(self, edit_id: UUID | None) -> None:
        """Edit `edit_id` may have changed; None: anything may have (a lost LISTEN)."""
        if edit_id is None:
            self._missed = True
            self._media_ids.clear()
        self._keep(self._ids, edit_id)

    def notify_media(self, media_id: UUID) -> None:
        self._keep(self._media_ids, media_id)

    def _keep(self, ids: dict[UUID, None], announced: UUID | None) -> None:
        if self.overflowed:
            return
        if announced is None:
            ids.clear()
        elif len(self._ids) + len(self._media_ids) >= MAX_PENDING_IDS:
            self.overflowed = True
            self._ids.clear()
            self._media_ids.clear()
        else:
            ids[announced] = None
        self.changed.set()


class EditEvents:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._subscribers: dict[UUID, set[Subscription]] = {}
        self._unbound: set[Subscription] = set()  # made before their edit (bind)
        self._feeds: set[Feed] = set()
        self._media_feeds: set[Feed] = set()  # of those, the ones told of the library's changes
        self._tasks: list[asyncio.Task[None]] = []
        self._slots = database.wake_slots(*CHANNELS)
        self._watching = asyncio.Lock()  # one watch or unwatch at a time
        # Per channel, since when no subscriber has wanted it (monotonic), dated as a
        # subscriber leaves (_left); None while one wants it, and from the start until one
        # leaves (a channel not watched has nothing to let go of).
        self._idle_since: dict[str, float | None] = dict.fromkeys(CHANNELS)
        self.connected = asyncio.Event()
        self.closing = False  # the service is stopping: waits end (end_waits)
        # Counts what was announced (and every look-again): a read made in one generation
        # is as new as any other made in it, so readers may share it (live.py, Shared).
        self.generation = 0

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._tend())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self._slots.close()

    def end_waits(self) -> None:
        """The service is stopping: every wait ends now with what it has (an event stream
        ends, a `?wait=` answers the edit as it is), so that no response holds the shutdown
        open; an EventSource reconnects, to whichever service answers then."""
        self.closing = True
        self._wake_everyone()

    @asynccontextmanager
    async def subscribe(self, edit_id: UUID | None = None) -> AsyncIterator[Subscription]:
        """Take (or clear `changed`), then re-read the edit; wait on `changed` for more.

        With no `edit_id`: for an edit about to be made. Whatever changes after its making
        is announced (the watch is held before it), so the row the making returns stands for
        the read; `bind` the subscription to its id then."""
        subscription = Subscription(edit_id)
        if edit_id is None:
            self._unbound.add(subscription)
        else:
            self._subscribers.setdefault(edit_id, set()).add(subscription)
        try:
            await self._watch(CHANNEL)
            yield subscription
        finally:
            self._unbound.discard(subscription)
            if subscription.edit_id is not None:
                waiting = self._subscribers.get(subscription.edit_id, set())
                waiting.discard(subscription)
                if not waiting:
                    self._subscribers.pop(subscription.edit_id, None)
            self._left()

    def bind(self, subscription: Subscription, edit_id: UUID) -> None:
        """The edit a subscription made before it (subscribe()) is `edit_id`."""
        self._unbound.discard(subscription)
        subscription.bind(edit_id)
        self._subscribers.setdefault(edit_id, set()).add(subscription)

    @asynccontextmanager
    async def subscribe_all(self, *, media: bool) -> AsyncIterator[Feed]:
        """Every edit's changes, as ids, and with `media` the library's (Feed.take_media): take
        them, then re-read those edits (and media). Only such feeds have MEDIA_CHANNEL watched."""
        feed = Feed()
        self._feeds.add(feed)
        if media:
            self._media_feeds.add(feed)
        try:
            await self._watch(*(CHANNELS if media else (CHANNEL,)))
            yield feed
        finally:
            self._feeds.discard(feed)
            self._media_feeds.discard(feed)
            self._left()

    # Watching: statements notify only while the slots are held (see the module's docstring)

    async def _watch(self, *channels: str) -> None:
        for channel in channels:  # before the lock: an unwatch under way finishes, then we watch
            self._idle_since[channel] = None
        async with self._watching:
            unwatched = [channel for channel in channels if channel not in self._slots.watching]
            if unwatched:
                try:
                    await self._slots.watch(*unwatched)
                except DatabaseUnavailable as exc:  # _tend wakes them until it can watch
                    log.warning(
                        "cannot watch events yet",
                        extra={"channels": ",".join(unwatched), "error": str(exc)},
                    )
                self.generation += 1  # changes went unannounced while no one watched

    def _wanted(self, channel: str) -> bool:
        """Whether a subscriber needs `channel` watched: every one the edits', a feed of the
        library's changes the media's."""
        if channel == MEDIA_CHANNEL:
            return bool(self._media_feeds)
        return bool(self._subscribers or self._unbound or self._feeds)

    def _left(self) -> None:
        now = time.monotonic()
        for channel in CHANNELS:  # a channel already idle stays idle since then
            if self._idle_since[channel] is None and not self._wanted(channel):
                self._idle_since[channel] = now

    async def _tend(self) -> None:
        """Let go of a channel's slots once no one has wanted it for UNWATCH_AFTER_SECONDS;
        find a lost watch session, take the slots still wanted again and have their
        subscribers look again (and again, each time, while they cannot be taken)."""
        while True:
            await asyncio.sleep(WATCH_CHECK_SECONDS)
            try:
                async with self._watching:
                    await self._tend_slots()
            except DatabaseUnavailable as exc:
                log.warning("events watch lost; retrying", extra={"error": str(exc)})
                self._wake_watchers(self._unwatched())

    async def _tend_slots(self) -> None:
        idle = [channel for channel in self._slots.watching if self._idle_long_enough(channel)]
        if idle:
            await self._slots.unwatch(*idle)
        if self._slots.held and not await self._slots.check():
            # The session was lost, and every channel's slots with it: check() forgot them
            # all, so each channel still wanted is among the unwatched, taken again below.
            log.warning("events watch session lost; watching again")
        unwatched = self._unwatched()
        if unwatched:  # lost with the session, or a watch that failed before
            await self._slots.watch(*unwatched)
            self._wake_watchers(unwatched)

    def _idle_long_enough(self, channel: str) -> bool:
        idle_since = self._idle_since[channel]
        return idle_since is not None and time.monotonic() - idle_since >= UNWATCH_AFTER_SECONDS

    def _unwatched(self) -> list[str]:
        """The channels a subscriber wants whose slots are not held."""
        return [ch for ch in CHANNELS if self._wanted(ch) and ch not in self._slots.watching]

    async def _listen(self) -> None:
        while True:
            try:
                async with self._database.listen(CHANNEL, MEDIA_CHANNEL) as notifications:
                    self.connected.set()
                    self._wake_everyone()  # anything missed while disconnected
                    async for notification in notifications:
                        if notification.channel == MEDIA_CHANNEL:
                            self._dispatch_media(notification.payload)
                        else:
                            self._dispatch(notification.payload)
            except DatabaseUnavailable as exc:
                log.warning("edit events LISTEN lost; reconnecting", extra={"error": str(exc)})
            self.connected.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _dispatch(self, payload: str) -> None:
        self.generation += 1
        for event in json.loads(payload):  # one statement's events (db/functions/040)
            state = {name: event.get(name) for name in STATE_FIELDS}
            edit_id = UUID(event["id"])
            for subscription in self._subscribers.get(edit_id, ()):
                subscription.notify(state)
            for subscription in self._unbound:
                subscription.keep(edit_id, state)
            for feed in self._feeds:
                feed.notify(edit_id)

    def _dispatch_media(self, payload: str) -> None:
        """One statement's media events (db/functions/220): for the feeds of the library's
        changes, which read them again (the edits' subscribers follow edits only)."""
        self.generation += 1
        for event in json.loads(payload):
            media_id = UUID(event["id"])
            for feed in self._media_feeds:
                feed.notify_media(media_id)

    def _wake_watchers(self, channels: list[str]) -> None:
        """Whoever relies on `channels` looks again: everyone for the edits' (every subscriber
        follows edits), the feeds of the library's changes for the media's."""
        if CHANNEL in channels:
            self._wake_everyone()
        elif channels:
            self.generation += 1
            for feed in self._media_feeds:
                feed.notify(None)

    def _wake_everyone(self) -> None:
        self.generation += 1
        for waiting in [*self._subscribers.values(), self._unbound]:
            for subscription in waiting:
                subscription.notify(None)
        for feed in self._feeds:
            feed.notify(None)


T = TypeVar("T")


class Shared(Generic[T]):
    """Reads made once for all the subscribers that ask for the same thing (`key`) in one
    generation of the events (EditEvents.generation: nothing announced, no look-again, in
    between). Every subscriber is told of a change at once, so hundreds of pages open on the
    queue, or of requests waiting for one edit, make one read of each change, not one each.

    A read made in a generation started after everything announced in it, so it is as new as
    any subscriber told of no more needs; one told of more is in a later generation and reads
    anew. A read's failure is every asker's (the next asker tries again); a subscriber that
    goes away leaves the read to the others."""

    def __init__(self, events: EditEvents) -> None:
        self._events = events
        self._generation = -1
        self._reads: dict[Hashable, asyncio.Task[T]] = {}

    async def read(self, key: Hashable, read: Callable[[], Coroutine[Any, Any, T]]) -> T:
        if self._events.generation != self._generation:
            self._generation, self._reads = self._events.generation, {}
        task = self._reads.get(key)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._reads[key] = asyncio.create_task(read())
            task.add_done_callback(_retrieve)
        return await asyncio.shield(task)


def _retrieve(task: "asyncio.Task[Any]") -> None:
    """A failure every asker left before it came is not 'never retrieved'."""
    if not task.cancelled():
        task.exception()
