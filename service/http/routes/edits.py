"""/edit: one endpoint for every edit; read, list, cancel, count, and follow them live."""

from collections.abc import AsyncIterator
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse

from service.domain.cursors import CURSOR_ACCEPTED, decode_cursor, encode_cursor
from service.domain.edits import FINISHED, parse_wait
from service.http.deps import DatabaseDep, EditsDep, only_parameters
from service.http.schemas import EditOut, EditPage, StatusCount

router = APIRouter(prefix="/edit", tags=["edits"])

Status = Literal["queued", "processing", "completed", "error", "failed", "cancelled"]


@router.post(
    "",
    status_code=202,
    response_model=EditOut,
    responses={
        200: {"description": "with wait: the edit finished within it"},
        422: {"description": "a parameter is unknown or wrong; the body names it"},
    },
)
async def create_edit(request: Request, edits: EditsDep) -> JSONResponse:
    """`POST /edit?media=ID&crop=0,0,100,100&resize=50x&format=webp`: the operations run in
    the order written. `wait=S` (up to 60) answers when the edit has finished, or after S."""
    items = request.query_params.multi_items()
    wait = parse_wait(request.query_params.get("wait"))
    row = await edits.create(items)
    if wait:
        row = await edits.wait(row["id"], wait)
    body = EditOut.from_row(row)
    status = 200 if row["status"] in FINISHED else 202
    return JSONResponse(body.model_dump(mode="json"), status, headers={"Location": body.url})


@router.get(
    "",
    response_model=EditPage,
    dependencies=[Depends(only_parameters("status", "media", "session", "limit", "cursor"))],
)
async def list_edits(
    database: DatabaseDep,
    status: Status | None = None,
    media: UUID | None = None,
    session: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> EditPage:
    """Newest first, filtered by status, media or session; keyset pages via `cursor`."""
    after_at, after_id = decode_cursor(cursor) if cursor is not None else (None, None)
    rows = await database.fetch_all(
        "list_edits", status=status, media_id=media, session_id=session, after_at=after_at,
        after_id=after_id, limit=limit + 1,
    )  # fmt: skip
    next_cursor = encode_cursor(rows[limit - 1], "created_at") if len(rows) > limit else None
    return EditPage(items=[EditOut.from_row(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.get("/stats", response_model=list[StatusCount])
async def edit_stats(database: DatabaseDep) -> list[StatusCount]:
    """How many edits are in each status (editroom.status_counts())."""
    rows = await database.fetch_all("status_counts")
    return [StatusCount(status=row["status"], count=row["count"]) for row in rows]


@router.get("/{edit_id}", response_model=EditOut)
async def get_edit(edit_id: UUID, edits: EditsDep) -> EditOut:
    return EditOut.from_row(await edits.get(edit_id))


@router.delete("/{edit_id}", response_model=EditOut, responses={409: {"description": "finished"}})
async def cancel_edit(edit_id: UUID, edits: EditsDep) -> EditOut:
    """Cancel: a queued edit will not run; a running one stops at once."""
    return EditOut.from_row(await edits.cancel(edit_id))


@router.post(
    "/{edit_id}/retry",
    response_model=EditOut,
    responses={409: {"description": "not failed or cancelled, or its session is busy"}},
)
async def retry_edit(edit_id: UUID, edits: EditsDep) -> EditOut:
    """Queue a failed or cancelled edit again, with one more trial; a session's step only
    once the step before it has completed and nothing else in the session is to run."""
    return EditOut.from_row(await edits.retry(edit_id))


@router.get("/{edit_id}/events", response_class=StreamingResponse)
async def edit_events(edit_id: UUID, edits: EditsDep) -> StreamingResponse:
    """Server-Sent Events: the edit now, then at every status or progress change; the
    stream ends when the edit has finished."""
    await edits.get(edit_id)  # 404 before the stream starts

    async def stream() -> AsyncIterator[str]:
        async for row in edits.follow(edit_id):
            if row is None:
                yield ": keep-alive\n\n"
                continue
            body = EditOut.from_row(row).model_dump_json()
            yield f"event: {row['status']}\ndata: {body}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
