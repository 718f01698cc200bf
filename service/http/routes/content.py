"""GET /bucket/upload/{id}/content: the bytes, with Range support so a <video> can seek."""

from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response, StreamingResponse

from service.http.deps import LibraryDep
from service.http.ranges import Unsatisfiable, none_match, parse_range, range_applies

router = APIRouter(prefix="/bucket/upload", tags=["media"])


# Two routes, not one with both methods: each gets its own OpenAPI operation id.
@router.get("/{media_id}/content", response_class=Response, name="content")
@router.head("/{media_id}/content", response_class=Response, name="content_head")
async def content(
    media_id: UUID,
    request: Request,
    library: LibraryDep,
    range_header: Annotated[str | None, Header(alias="range")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    if_range: Annotated[str | None, Header()] = None,
) -> Response:
    media = await library.get(media_id)
    size: int = media["size_bytes"]
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{media["sha256"]}"',
        # The bytes behind an id never change.
        "Cache-Control": "public, max-age=31536000, immutable",
        "Content-Disposition": _disposition(media["original_name"]),
    }
    if none_match(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if not range_applies(if_range, headers["ETag"]):
        range_header = None  # the content changed, as far as the client can tell: all of it
    try:
        wanted = parse_range(range_header, size)
    except Unsatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = (0, size - 1) if wanted is None else (wanted.start, wanted.end)
    headers["Content-Length"] = str(end - start + 1)
    if wanted is not None:
        headers["Content-Range"] = wanted.content_range(size)
    status = 200 if wanted is None else 206
    if size == 0:
        return Response(status_code=status, headers=headers, media_type=media["content_type"])
    body = await library.read(media, start=start, end=end)  # fails here, before headers
    if request.method == "HEAD":  # told what GET would be: the store is asked as for GET
        await body.aclose()
        return Response(status_code=status, headers=headers, media_type=media["content_type"])
    return StreamingResponse(
        body, status_code=status, headers=headers, media_type=media["content_type"]
    )


def _disposition(name: str | None) -> str:
    if not name:
        return "inline"
    ascii_name = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in name)
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
