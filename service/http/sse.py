"""Server-Sent Events that a stalled client cannot hold open.

A client that stops reading fills its socket, then the server's write buffer, and from then
on each `send` waits. Nothing else waits with it: the one LISTEN connection only marks the
stream's bounded feed (service/domain/events.py) and never waits for a reader. But the stream
itself would wait for ever, so a frame that cannot be handed over within `stall_seconds` ends
it: the connection is closed, and an EventSource reconnects and reads the state again.
Streams open and streams dropped are counted (editroom_event_streams*).

Each open stream costs the database work at every change (an /events stream re-reads the
edits it is told of, an /edit/{id}/events stream its edit), and there are no accounts to
limit them by, so stream_slots caps how many are open at once (EDITROOM_MAX_EVENT_STREAMS):
one more is refused with a 503 before any byte, and the streams already open stay served."""

import asyncio
import logging
from collections.abc import AsyncGenerator

from fastapi.responses import StreamingResponse
from starlette.types import Message, Receive, Scope, Send

from service.kernel.errors import StreamsBusy
from service.kernel.metrics import ServiceMetrics
from service.kernel.slots import Slots

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def stream_slots(limit: int, metrics: ServiceMetrics) -> Slots:
    """At most `limit` event streams open at once, counted from the route's answer (so a
    refusal is a 503 before any byte) to the stream's end, however it ends."""

    def refusal(limit: int) -> StreamsBusy:
        metrics.stream_refused()
        log.warning("refused an event stream", extra={"limit": limit})
        return StreamsBusy(limit=limit)

    return Slots(limit, refusal=refusal)


class EventStream(StreamingResponse):
    """Takes one of `slots` when made (StreamsBusy when none is free), gives it back when
    the response ends: make it last in the route, when nothing else can fail."""

    media_type = "text/event-stream"

    def __init__(
        self,
        frames: AsyncGenerator[str, None],
        *,
        slots: Slots,
        stall_seconds: float,
        metrics: ServiceMetrics,
    ) -> None:
        slots.take()
        super().__init__(frames, headers=HEADERS)
        self._frames = frames
        self._slots = slots
        self._stall_seconds = stall_seconds
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._slots.give_back()

    async def stream_response(self, send: Send) -> None:
        async def bounded(message: Message) -> None:
            async with asyncio.timeout(self._stall_seconds):  # no task per frame, as wait_for
                await send(message)

        try:
            with self._metrics.streaming():
                await super().stream_response(bounded)
        except TimeoutError:
            # Returning without the last frame makes the server close the connection.
            self._metrics.stream_dropped("stalled")
            log.warning("dropped an event stream its client stopped reading",
                        extra={"stall_seconds": self._stall_seconds})  # fmt: skip
            await self._frames.aclose()  # leaves the feed now, not when collected
