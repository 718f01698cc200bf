"""Presigned uploads: the client PUTs the bytes straight to storage (S3), or to a signed,
expiring URL of this service (local bucket), then asks us to complete the upload."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from service.domain.presigned import PresignedUploads
from service.http.deps import (
    LibraryDep,
    LinksDep,
    MetricsDep,
    SettingsDep,
    SigningKeyDep,
    UploadSlotsDep,
)
from service.http.openapi import RAW_BODY
from service.http.receiving import received_body, with_receiving
from service.http.schemas import PresignOut, UploadOut
from service.kernel.errors import TooLarge
from service.kernel.receive import too_large_message
from service.kernel.signing import verify

router = APIRouter(prefix="/bucket/upload", tags=["media"])


async def presigned_uploads(library: LibraryDep, settings: SettingsDep) -> PresignedUploads:
    return PresignedUploads(library=library, settings=settings)


UploadsDep = Annotated[PresignedUploads, Depends(presigned_uploads)]


@router.post(
    "/presign",
    status_code=201,
    response_model=PresignOut,
    responses={
        413: {"description": "size over EDITROOM_MAX_UPLOAD_BYTES"},
        429: {"description": "EDITROOM_MAX_PENDING_UPLOADS open: see Retry-After"},
    },
)
async def presign(
    uploads: UploadsDep,
    links: LinksDep,
    settings: SettingsDep,
    key: SigningKeyDep,
    size: Annotated[int, Query(ge=1, description="the file's size in bytes")],
    filename: str | None = None,
) -> PresignOut:
    """A URL to PUT the file to, and a pending media id to complete afterwards."""
    if size > settings.max_upload_bytes:
        raise TooLarge(too_large_message(settings.max_upload_bytes))
    pending = await uploads.start(filename=filename, size_bytes=size)
    url = await uploads.storage_url(pending)
    if url is None:
        url = uploads.signed_service_url(links.upload_data(pending["id"]), pending, key)
    return PresignOut(
        id=pending["id"],
        upload_url=url,
        method="PUT",
        expires_at=pending["expires_at"],
        complete_url=links.complete_upload(pending["id"]),
    )


@router.put(
    "/{media_id}/data",
    status_code=204,
    name="put_upload_data",
    responses=with_receiving({}, too_large="the declared size or EDITROOM_MAX_UPLOAD_BYTES"),
    openapi_extra=RAW_BODY,
)
async def put_upload_data(
    media_id: UUID,
    request: Request,
    uploads: UploadsDep,
    settings: SettingsDep,
    key: SigningKeyDep,
    slots: UploadSlotsDep,
    expires: int,
    signature: str,
) -> Response:
    """The local bucket's presigned upload target (what S3 is for the S3 bucket). Held to the
    same bounds as POST /bucket/upload: its declared size, a pace, a share of the slots."""
    verify(key, str(media_id), expires, signature)
    pending = await uploads.pending(media_id)
    limit, limit_name = uploads.put_limit(pending)
    async with received_body(
        request, settings=settings, slots=slots, content_type="application/octet-stream",
        max_bytes=limit, limit_name=limit_name,
    ) as received:  # fmt: skip
        await uploads.store(media_id, received.path)
    return Response(status_code=204)


@router.post(
    "/{media_id}/complete",
    response_model=UploadOut,
    name="complete_upload",
    responses={
        409: {"description": "nothing uploaded yet, or the upload expired"},
        413: {"description": "larger than its declared size or EDITROOM_MAX_UPLOAD_BYTES"},
        415: {"description": "not an image or a video"},
        422: {"description": "smaller than declared, truncated, corrupt, or over a limit"},
    },
)
async def complete_upload(
    media_id: UUID, uploads: UploadsDep, metrics: MetricsDep, links: LinksDep
) -> JSONResponse:
    """Verify the uploaded bytes (size, SHA-256, what they are) and make them media. The same
    bytes already in the bucket: that media answers (200, duplicate=true). An object larger
    than declared is deleted unread (413): PUT the file again."""
    ingested = await uploads.complete(media_id)
    if ingested.created or ingested.duplicate:  # not a completion repeated (a client's retry)
        metrics.uploaded(ingested.media, duplicate=ingested.duplicate)
    body = UploadOut.from_row(ingested.media, links, duplicate=ingested.duplicate)
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=201 if ingested.created else 200,
        headers={"Location": links.media(body.id)},
    )
