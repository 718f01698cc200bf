"""BodyLimit reads a request's body only when the request sends one."""

import asyncio

from starlette.types import Message, Receive, Scope, Send

from service.http.body_limit import BodyLimit
from service.kernel.receive import Pace

PACE = Pace(idle_seconds=30, min_bytes_per_second=0)


def _called(headers: list[tuple[bytes, bytes]], receive: Receive) -> list[Message]:
    """The messages the app read, after at most a second."""
    handed: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        handed.append(await receive())

    async def send(message: Message) -> None:
        raise AssertionError(f"BodyLimit answered by itself: {message}")

    scope: Scope = {"type": "http", "method": "GET", "path": "/edit", "headers": headers}
    limit = BodyLimit(app, max_bytes=1000, pace=PACE)
    asyncio.run(asyncio.wait_for(limit(scope, receive, send), timeout=1))
    return handed


def test_a_request_that_sends_no_body_reaches_the_app_without_a_read() -> None:
    """A GET declares no length: nothing is read ahead (pacing a read costs tasks on the path
    of every request), and the app reads the server's own empty message, not a replay."""
    servers: Message = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> Message:
        return servers

    (handed,) = _called([(b"host", b"x")], receive)
    assert handed is servers


def test_a_request_that_declares_a_body_has_it_read_and_handed_on() -> None:
    chunks = [b'{"a":', b" 1}"]

    async def receive() -> Message:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    (handed,) = _called([(b"content-length", b"8")], receive)
    assert handed["body"] == b'{"a": 1}'
