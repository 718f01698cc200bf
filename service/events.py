"""One LISTEN connection for the whole service. Every SSE stream and every `?wait=` request
subscribes here, per edit, instead of holding a connection of its own.

A notification only says "look again": subscribers re-read the edit, so bursts coalesce and a
dropped connection loses nothing (on reconnect every subscriber looks again)."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from uuid import UUID

from service.db import Database
from service.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

CHANNEL = "editroom_edit_events"
RECONNECT_SECONDS = 1.0


class EditEvents:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._subscribers: dict[UUID, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    @asynccontextmanager
    async def subscribe(self, edit_id: UUID) -> AsyncIterator[asyncio.Event]:
        """An event set whenever the edit may have changed; clear it, then re-read the edit."""
        changed = asyncio.Event()
        self._subscribers.setdefault(edit_id, set()).add(changed)
        try:
            yield changed
        finally:
            waiting = self._subscribers.get(edit_id, set())
            waiting.discard(changed)
            if not waiting:
                self._subscribers.pop(edit_id, None)

    async def _listen(self) -> None:
        while True:
            try:
                async with self._database.listen(CHANNEL) as notifications:
                    self.connected.set()
                    self._wake_everyone()  # anything missed while disconnected
                    async for notification in notifications:
                        self._dispatch(notification.payload)
            except DatabaseUnavailable as exc:
                log.warning("edit events LISTEN lost; reconnecting", extra={"error": str(exc)})
            self.connected.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    def _dispatch(self, payload: str) -> None:
        edit_id = UUID(json.loads(payload)["id"])
        for changed in self._subscribers.get(edit_id, ()):
            changed.set()

    def _wake_everyone(self) -> None:
        for waiting in self._subscribers.values():
            for changed in waiting:
                changed.set()
