"""Server-Sent Events that a stalled client cannot hold open.

A client that stops reading fills its socket, then the server's write buffer, and from then
on each `send` waits. Nothing else waits with it: the one LISTEN connection only marks the
stream's bounded feed (service/domain/events.py) and never waits for a reader. But the stream
itself would wait for ever, so a frame that cannot be handed over within `stall_seconds` ends
it: the connection is closed, and an EventSource reconnects and reads the state again.
Streams open and streams dropped are counted (editroom_event_streams*)."""

import asyncio
import logging
from collections.abc import AsyncGenerator

from fastapi.responses import StreamingResponse
from starlette.types import Message, Send

from service.kernel.metrics import ServiceMetrics

log = logging.getLogger(__name__)

HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class EventStream(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(
        self, frames: AsyncGenerator[str, None], *, stall_seconds: float, metrics: ServiceMetrics
    ) -> None:
        super().__init__(frames, headers=HEADERS)
        self._frames = frames
        self._stall_seconds = stall_seconds
        self._metrics = metrics

    async def stream_response(self, send: Send) -> None:
        async def bounded(message: Message) -> None:
            await asyncio.wait_for(send(message), self._stall_seconds)

        try:
            with self._metrics.streaming():
                await super().stream_response(bounded)
        except TimeoutError:
            # Returning without the last frame makes the server close the connection.
            self._metrics.stream_dropped("stalled")
            log.warning("dropped an event stream its client stopped reading",
                        extra={"stall_seconds": self._stall_seconds})  # fmt: skip
            await self._frames.aclose()  # leaves the feed now, not when collected
