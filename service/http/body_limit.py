"""Request bodies of every route but the two upload targets (which stream to disk under
EDITROOM_MAX_UPLOAD_BYTES) are held to EDITROOM_MAX_JSON_BYTES: a 413 naming the limit, as
soon as the declared length or the bytes received cross it. They keep an upload's pace too
(body_pace): a body that stalls or trickles is a 408, not a connection held for ever. What is
within both is read here and handed on unchanged, so no route reads an unbounded body."""

import json
import re
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kernel.errors import EditroomError, TooLarge
from service.kernel.receive import Pace, paced

# Routes whose bodies are files: POST /bucket/upload, PUT /bucket/upload/{id}/data.
UPLOADS = (
    ("POST", re.compile(r"/bucket/upload/?")),
    ("PUT", re.compile(r"/bucket/upload/[^/]+/data")),
)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int, pace: Pace) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.pace = pace

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_upload(scope) or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        try:
            if _declared_length(scope) > self.max_bytes:
                raise self._too_large()
            body = await self._read(receive)
        except EditroomError as exc:  # too large, or too slow
            await _refuse(send, exc)
            return
        except ClientDisconnect:  # the client went away while sending
            return
        await self.app(scope, _replaying(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        body = bytearray()
        async for chunk in paced(_chunks(receive), self.pace):
            body += chunk
            if len(body) > self.max_bytes:
                raise self._too_large()
        return bytes(body)

    def _too_large(self) -> TooLarge:
        return TooLarge(
            f"the request body is larger than {self.max_bytes:,} bytes "
            "(EDITROOM_MAX_JSON_BYTES); uploads go to POST /bucket/upload"
        )


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    message: Message = {"type": "http.request", "body": b"", "more_body": True}
    while message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            raise ClientDisconnect
        yield message.get("body", b"")


async def _refuse(send: Send, error: EditroomError) -> None:
    """Answered here, outside the app's error handlers; the rest of the body is left unread,
    so the connection is closed."""
    content = json.dumps({"detail": str(error), "error": type(error).__name__}).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
               (b"content-length", str(len(content)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


def _is_upload(scope: Scope) -> bool:
    return any(
        scope["method"] == method and pattern.fullmatch(scope["path"])
        for method, pattern in UPLOADS
    )


def _has_body(scope: Scope) -> bool:
    """Whether the request sends a body at all: HTTP/1.1 has one only where a length or a
    transfer coding says so. Most requests (every GET) have none, and pass with no reading:
    pacing a read costs a task or two."""
    return any(
        (name == b"content-length" and value != b"0") or name == b"transfer-encoding"
        for name, value in scope["headers"]
    )


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then the client's own messages (a disconnect, say)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
