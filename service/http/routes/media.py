"""/bucket/upload: put media in the bucket, list it, read it, delete it."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from service.domain.cursors import CURSOR_ACCEPTED
from service.domain.library import IDS_ACCEPTED
from service.http.deps import LibraryDep, LinksDep, MetricsDep, SettingsDep, UploadSlotsDep
from service.http.openapi import UPLOAD_BODY
from service.http.receiving import received_body, with_receiving
from service.http.schemas import BY_ADDRESS_MEDIA_FILTER, MediaOut, MediaPage, UploadOut
from service.http.timeranges import parse_uploaded_at

router = APIRouter(prefix="/bucket/upload", tags=["media"])

IDS_DESCRIPTION = (
    "only these media, one id= each (the rows that exist: a media deleted, or never made, is "
    f"absent): a page's media read in one request. Accepted: {IDS_ACCEPTED}"
)


@router.post(
    "",
    status_code=201,
    response_model=UploadOut,
    responses=with_receiving(
        {
            200: {"description": "the same bytes were uploaded before: that media, duplicate=true"},
            415: {"description": "not an image or a video"},
            422: {"description": "truncated, corrupt, or over a limit"},
        },
        too_large="EDITROOM_MAX_UPLOAD_BYTES",
    ),
    openapi_extra=UPLOAD_BODY,
)
async def upload(
    request: Request,
    library: LibraryDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    links: LinksDep,
    slots: UploadSlotsDep,
    filename: str | None = None,
) -> JSONResponse:
    """Upload one image or video: multipart field `file`, or the raw bytes as the body (name it
    with `?filename=`). What it is comes from its bytes, not its name or Content-Type."""
    async with received_body(
        request, settings=settings, slots=slots,
        content_type=request.headers.get("content-type", ""),
        max_bytes=settings.max_upload_bytes, filename=filename,
    ) as received:  # fmt: skip
        ingested = await library.ingest(received)
    metrics.uploaded(ingested.media, duplicate=ingested.duplicate)
    body = UploadOut.from_row(ingested.media, links, duplicate=ingested.duplicate)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=201 if ingested.created else 200,
        headers={"Location": links.media(body.id)},
    )


@router.get("", response_model=MediaPage)
async def list_media(
    library: LibraryDep,
    links: LinksDep,
    kind: Annotated[Literal["image", "video"] | None, Query(alias="type")] = None,
    uploaded_at: Annotated[
        str | None, Query(alias="uploadedAt", description="2026-11-23, or FROM..TO")
    ] = None,
    origin: Annotated[
        Literal["upload", "edit"] | None,
        Query(
            description="upload: originals only (uploaded or imported); edit: edit outputs "
            "only; none: both"
        ),
    ] = None,
    by_address: Annotated[bool | None, Query(description=BY_ADDRESS_MEDIA_FILTER)] = None,
    ids: Annotated[list[UUID] | None, Query(alias="id", description=IDS_DESCRIPTION)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> MediaPage:
    """Newest first. Pages are keyset: pass `next_cursor` back as `cursor`."""
    since, before = parse_uploaded_at(uploaded_at) if uploaded_at is not None else (None, None)
    page = await library.page(
        kind=kind, origin=origin, by_address=by_address, since=since, before=before,
        limit=limit, cursor=cursor, ids=ids,
    )  # fmt: skip
    items = [MediaOut.from_row(row, links) for row in page.rows]
    return MediaPage(items=items, next_cursor=page.next_cursor)


@router.get("/{media_id}", response_model=MediaOut, name="get_media")
async def get_media(media_id: UUID, library: LibraryDep, links: LinksDep) -> MediaOut:
    return MediaOut.from_row(await library.get(media_id), links)


@router.delete("/{media_id}", status_code=204, responses={409: {"description": "in use"}})
async def delete_media(media_id: UUID, library: LibraryDep) -> Response:
    """Delete the media and its bytes; refused (409) while an edit that reads it is queued
    or processing, and while a session's step made it (`HeldBySession`, whose body names the
    session: session_id, session_step, session_media_id)."""
    await library.delete(media_id)
    return Response(status_code=204)
