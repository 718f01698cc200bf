"""An upload's body received by a route (POST /bucket/upload, and the local bucket's presigned
PUT): its declared length checked, then the body streamed to a temporary file under one of the
upload slots at the upload pace, and the file deleted once the route is done with it. Beside
it, the answers those steps give, as each route's OpenAPI declaration lists them."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request

from service.kernel.receive import (
    UPLOAD_LIMIT,
    ReceivedFile,
    check_declared_length,
    receive,
    upload_pace,
)
from service.kernel.settings import Settings
from service.kernel.slots import Slots

Responses = dict[int | str, dict[str, Any]]


def with_receiving(responses: Responses, *, too_large: str) -> Responses:
    """A receiving route's `responses`, with what receiving answers (408, 413: larger than
    `too_large`, 503), in the order of their status. A route that declares one of those
    itself is refused (ValueError, as its module is imported): one of the two would be lost."""
    received: Responses = {
        408: {"description": "the body stalled or trickled (EDITROOM_UPLOAD_IDLE_SECONDS)"},
        413: {"description": f"larger than {too_large}"},
        503: {"description": "EDITROOM_MAX_CONCURRENT_UPLOADS under way: see Retry-After"},
    }
    if twice := sorted(str(status) for status in responses.keys() & received.keys()):
        raise ValueError(
            f"receiving answers {', '.join(twice)} itself: say a 413's limit with too_large"
        )
    return dict(sorted({**responses, **received}.items(), key=lambda item: str(item[0])))


@asynccontextmanager
async def received_body(
    request: Request,
    *,
    settings: Settings,
    slots: Slots,
    content_type: str,
    max_bytes: int,
    limit_name: str = UPLOAD_LIMIT,
    filename: str | None = None,
) -> AsyncIterator[ReceivedFile]:
    """The request's body as a temporary file, for the block: over `max_bytes` (said to come
    from `limit_name`) refused before a byte is read if its length says so (413), else as it
    crosses it; received under one of `slots`, held until the block ends (503 when none is
    free); dropped when it stalls or trickles (408). The file is deleted after the block."""
    check_declared_length(request.headers, max_bytes=max_bytes, limit_name=limit_name)
    with slots.held():
        received = await receive(
            request.stream(), content_type=content_type, directory=settings.uploads_dir,
            max_bytes=max_bytes, limit_name=limit_name, filename=filename,
            pace=upload_pace(settings),
        )  # fmt: skip
        try:
            yield received
        finally:
            received.path.unlink(missing_ok=True)
