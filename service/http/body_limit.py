"""Request bodies of every route but the two upload targets (which stream to disk under
EDITROOM_MAX_UPLOAD_BYTES) are held to EDITROOM_MAX_JSON_BYTES: a 413 naming the limit, as
soon as the declared length or the bytes received cross it. What is within it is read here
and handed on unchanged, so no route reads an unbounded body."""

import json
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Routes whose bodies are files: POST /bucket/upload, PUT /bucket/upload/{id}/data.
UPLOADS = (
    ("POST", re.compile(r"/bucket/upload/?")),
    ("PUT", re.compile(r"/bucket/upload/[^/]+/data")),
)


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_upload(scope):
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            await self._refuse(send)
            return
        body = bytearray()
        message: Message = {"type": "http.request", "body": b"", "more_body": True}
        while message["type"] == "http.request" and message.get("more_body", False):
            message = await receive()
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(send)
                return
        if message["type"] != "http.request":  # the client went away while sending
            return
        await self.app(scope, _replaying(bytes(body), receive), send)

    async def _refuse(self, send: Send) -> None:
        detail = (
            f"the request body is larger than {self.max_bytes:,} bytes "
            "(EDITROOM_MAX_JSON_BYTES); uploads go to POST /bucket/upload"
        )
        content = json.dumps({"detail": detail, "error": "TooLarge"}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                   (b"content-length", str(len(content)).encode())]  # fmt: skip
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": content})


def _is_upload(scope: Scope) -> bool:
    return any(
        scope["method"] == method and pattern.fullmatch(scope["path"])
        for method, pattern in UPLOADS
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
