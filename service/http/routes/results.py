"""GET /media/{id}/{operations}: an edit's result by address, as imgproxy and thumbor serve
them: one GET per result, for <img src> and a CDN; the same address is never worked twice."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from service.domain.edit_controls import CONTROL
from service.domain.results import Result
from service.http.deps import LinksDep, ResultsDep, UrlSigningKeyDep
from service.http.links import Links
from service.http.openapi import ELSEWHERE, IN_THE_PATH
from service.http.ranges import none_match
from service.http.schemas import EditOut
from service.kernel.signing import verify_path

router = APIRouter(prefix="/media", tags=["results"])

IMMUTABLE = "public, max-age=31536000, immutable"
_AN_EDIT_CONTROL = (
    "{} is a parameter of POST /edit, not of a result's address, which names the media and "
    "its operations in its path (/media/ID/resize=800x) and waits for the edit by itself, up "
    "to EDITROOM_RESULT_WAIT_SECONDS, then answers 202 with the edit's Location"
)
# `/media/ID/flip=h?resize=800x`, for every operation and modifier of the language (said by
# deps.check_query): they go in the path.
_IN_THE_PATH = (
    "{name} is {role}: an address's operations are written in its path, as in POST /edit's "
    "query string and in the order they run, not in its query string: {path}"
)
_ROUTE: dict[str, Any] = dict(
    openapi_extra={
        ELSEWHERE: {name: _AN_EDIT_CONTROL.format(name) for name in CONTROL},
        IN_THE_PATH: _IN_THE_PATH,
    },
    response_class=Response,
    responses={
        200: {"description": "the result's bytes; ETag: its SHA-256; cacheable forever"},
        202: {"model": EditOut, "description": "still running after the wait; see Location"},
        304: {"description": "If-None-Match named this result"},
        403: {"description": "EDITROOM_URL_SIGNING_KEY is set and the signature is not right"},
        404: {"description": "no such media, or no such output"},
        422: {"description": "an operation is unknown or wrong (as POST /edit), or it failed"},
    },
)


# Two routes, not one with both methods: each gets its own OpenAPI operation id. HEAD answers
# as GET would, without the bytes (a CDN's or a link checker's question), making the edit too.
@router.get("/{media_id}/{operations:path}", name="result", **_ROUTE)
@router.head("/{media_id}/{operations:path}", name="result_head", **_ROUTE)
async def result(
    media_id: UUID,
    operations: str,
    request: Request,
    results: ResultsDep,
    links: LinksDep,
    signing_key: UrlSigningKeyDep,
    if_none_match: Annotated[str | None, Header()] = None,
    output: Annotated[str | None, Query(description="the N-th result, from 1")] = None,
    signature: Annotated[str | None, Query(description="the address's signature")] = None,
) -> Response:
    """`GET /media/ID/resize=800x&format=webp`: the operations written as in POST /edit, in
    the path. The edit is made once: done, its bytes at once; under way (or new), joined
    and waited for up to EDITROOM_RESULT_WAIT_SECONDS, then 202 with the edit's Location.
    `output=N` picks the N-th result of an edit with several (frames=best:N); default the
    first. With EDITROOM_URL_SIGNING_KEY set, `signature=` must sign the path."""
    raw_path = request.scope["raw_path"].decode("latin-1")
    if signing_key is not None:
        verify_path(signing_key, raw_path, signature)
    written = raw_path.split("/", 3)[3]  # as sent: an escaped & stays a value's
    found = await results.result(
        media_id, written, accept=request.headers.get("accept", ""),
        output=output,
    )  # fmt: skip
    if found.output is None:
        return _under_way(found, links)
    headers = {"ETag": f'"{found.output["sha256"]}"', "Cache-Control": IMMUTABLE}
    if signing_key is not None:  # a signed address is meant to be shown by pages anywhere
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    if found.varies_by_accept:
        headers["Vary"] = "Accept"
    if none_match(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(found.output["size_bytes"])
    body = await results.read(found.output)  # a store that fails does here, for HEAD as GET
    if request.method == "HEAD":
        await body.aclose()
        return Response(headers=headers, media_type=found.output["content_type"])
    return StreamingResponse(body, headers=headers, media_type=found.output["content_type"])


def _under_way(found: Result, links: Links) -> JSONResponse:
    body = EditOut.from_row(found.edit, links)
    headers = {"Location": body.url, "Cache-Control": "no-store", "Retry-After": "1"}
    return JSONResponse(body.model_dump(mode="json"), 202, headers=headers)
