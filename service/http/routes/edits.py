"""/edit: one endpoint for every edit; read, list, cancel, count, and follow them live."""

from collections.abc import AsyncGenerator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from service.domain.cursors import CURSOR_ACCEPTED
from service.domain.edit_controls import parse_wait
from service.http.answers import queued_edit
from service.http.deps import (
    EditsDep,
    IdempotencyKey,
    LinksDep,
    MetricsDep,
    SettingsDep,
    StreamSlotsDep,
)
from service.http.openapi import (
    EDIT_QUERY,
    REPLAYED_HEADER_DOC,
    RETRY_AFTER_HEADER_DOC,
    STREAMS_BUSY,
)
from service.http.schemas import BY_ADDRESS_FILTER, EditOut, EditPage, StatusCount
from service.http.sse import EventStream

router = APIRouter(prefix="/edit", tags=["edits"])

Status = Literal["queued", "processing", "completed", "error", "failed", "cancelled"]


@router.post(
    "",
    status_code=202,
    response_model=EditOut,
    responses={
        200: {"description": "with wait: the edit finished within it"},
        202: {"description": "queued (or joined, or reused)", "headers": REPLAYED_HEADER_DOC},
        400: {"description": "the Idempotency-Key header is malformed"},
        409: {"description": "session=: other steps of the session kept being added while "
              "this one was planned; send it again"},
        422: {"description": "a parameter is unknown or wrong, or the Idempotency-Key was "
              "used for another request; the body names it"},
        429: {"description": "EDITROOM_MAX_QUEUED edits wait already; see Retry-After"},
    },
    openapi_extra=EDIT_QUERY,
)  # fmt: skip
async def create_edit(
    request: Request, edits: EditsDep, links: LinksDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """`POST /edit?media=ID&crop=0,0,100,100&resize=50x&format=webp`: the operations run in
    the order written. `wait=S` (up to 60) answers when the edit has finished, or after S.
    `format=auto` is chosen from the Accept header (AVIF, WebP, else JPEG) and recorded.
    With an `Idempotency-Key` header, a retry of the same request answers the same edit."""
    wait = parse_wait(request.query_params.get("wait"))
    accept = request.headers.get("accept", "")  # format=auto chooses from it
    # With wait, the answer comes from waiting(), which answers only what is durable.
    async with edits.waiting(wait) as answer:
        made = await edits.create(
            request.query_params.multi_items(), accept=accept,
            idempotency_key=idempotency_key, durable=not wait,
        )  # fmt: skip
        (row,) = made.rows
        return await queued_edit(row, answer=answer, links=links, replayed=made.replayed)


@router.get(
    "",
    response_model=EditPage,
)
async def list_edits(
    edits: EditsDep,
    links: LinksDep,
    status: Status | None = None,
    media: UUID | None = None,
    session: UUID | None = None,
    by_address: Annotated[bool | None, Query(description=BY_ADDRESS_FILTER)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> EditPage:
    """Newest first, filtered by status, media, session or whether a result address made it
    (`by_address`); keyset pages via `cursor`."""
    page = await edits.page(
        status=status, media_id=media, session_id=session, by_address=by_address,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    items = [EditOut.from_row(row, links) for row in page.rows]
    return EditPage(items=items, next_cursor=page.next_cursor)


@router.get("/stats", response_model=list[StatusCount])
async def edit_stats(edits: EditsDep) -> list[StatusCount]:
    """How many edits are in each status (editroom.status_counts())."""
    rows = await edits.status_counts()
    return [StatusCount(status=row["status"], count=row["count"]) for row in rows]


@router.get("/{edit_id}", response_model=EditOut, name="get_edit")
async def get_edit(edit_id: UUID, edits: EditsDep, links: LinksDep) -> EditOut:
    return EditOut.from_row(await edits.get(edit_id), links)


@router.delete("/{edit_id}", response_model=EditOut, responses={409: {"description": "finished"}})
async def cancel_edit(edit_id: UUID, edits: EditsDep, links: LinksDep) -> EditOut:
    """Cancel: a queued edit will not run; a running one stops at once."""
    return EditOut.from_row(await edits.cancel(edit_id), links)


@router.post(
    "/{edit_id}/retry",
    response_model=EditOut,
    responses={
        409: {
            "description": "Not retryable now (its `retryable` is false), the detail says why: "
            "not failed or cancelled; failed in a way trying again would not change (the "
            "runner said the same work fails the same way); a session step while another "
            "step of its session is still to run, or before the step it follows has "
            "completed; one whose media to read no longer exists"
        },
        429: {"description": "EDITROOM_MAX_QUEUED edits wait already; see Retry-After"},
    },
)
async def retry_edit(edit_id: UUID, edits: EditsDep, links: LinksDep) -> EditOut:
    """Queue a failed or cancelled edit again, with one more trial, where its `retryable`
    says trying again may end otherwise: cancelled; failed on its last trial with a failure
    the runner judged retryable; a session step failed before it ran, once the step it
    follows has completed. Anything else is refused (409, saying why)."""
    return EditOut.from_row(await edits.retry(edit_id), links)


@router.get(
    "/{edit_id}/events",
    response_class=EventStream,
    status_code=200,
    name="edit_events",
    responses={503: {"description": STREAMS_BUSY, "headers": RETRY_AFTER_HEADER_DOC}},
)
async def edit_events(
    edit_id: UUID,
    edits: EditsDep,
    links: LinksDep,
    settings: SettingsDep,
    metrics: MetricsDep,
    slots: StreamSlotsDep,
) -> EventStream:
    """Server-Sent Events: the edit now, then at every status or progress change; the
    stream ends when the edit has finished, or when its client has taken nothing for
    `EDITROOM_SSE_STALL_SECONDS` (reconnect and read the edit again). With
    `EDITROOM_MAX_EVENT_STREAMS` streams open, a 503 with `Retry-After`."""
    await edits.get(edit_id)  # 404 before the stream starts

    async def stream() -> AsyncGenerator[str, None]:
        async for row in edits.follow(edit_id):
            if row is None:
                yield ": keep-alive\n\n"
                continue
            body = EditOut.from_row(row, links).model_dump_json()
            yield f"event: {row['status']}\ndata: {body}\n\n"

    return EventStream(
        stream(), slots=slots, stall_seconds=settings.sse_stall_seconds, metrics=metrics
    )
