"""/sessions: an editing window on one media, with history, undo and redo."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from service.domain.cursors import CURSOR_ACCEPTED, decode_cursor, encode_cursor
from service.http.deps import DatabaseDep, SessionsDep, only_parameters
from service.http.schemas import SessionOut, SessionPage

router = APIRouter(prefix="/sessions", tags=["sessions"])

UNSETTLED: dict[int | str, dict[str, str]] = {
    409: {"description": "nothing to undo or redo, or steps still to run"}
}


@router.post("", status_code=201, response_model=SessionOut,
             dependencies=[Depends(only_parameters("media"))])  # fmt: skip
async def open_session(media: UUID, sessions: SessionsDep, request: Request) -> JSONResponse:
    """Open a session on a media. Then `POST /edit?session=ID&...` edits its head."""
    state = await sessions.open(media)
    body = SessionOut.from_row(state, steps=[])
    return JSONResponse(body.model_dump(mode="json"), 201, headers={"Location": body.url})


@router.get("", response_model=SessionPage,
            dependencies=[Depends(only_parameters("media", "limit", "cursor"))])  # fmt: skip
async def list_sessions(
    database: DatabaseDep,
    sessions: SessionsDep,
    media: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> SessionPage:
    after_at, after_id = decode_cursor(cursor) if cursor is not None else (None, None)
    rows = await database.fetch_all(
        "list_sessions", media_id=media, after_at=after_at, after_id=after_id, limit=limit + 1
    )
    items = [SessionOut.from_row(await sessions.state(row["id"])) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1], "created_at") if len(rows) > limit else None
    return SessionPage(items=items, next_cursor=next_cursor)


@router.get("/{session_id}", response_model=SessionOut)
async def get_session(session_id: UUID, sessions: SessionsDep) -> SessionOut:
    """The session, its head, and every step: operations, status, input and output."""
    state = await sessions.state(session_id)
    return SessionOut.from_row(state, await sessions.steps(session_id))


@router.post("/{session_id}/undo", response_model=SessionOut, responses=UNSETTLED)
async def undo(session_id: UUID, sessions: SessionsDep) -> SessionOut:
    """Move the head back one step; nothing runs again."""
    state = await sessions.undo(session_id)
    return SessionOut.from_row(state, await sessions.steps(session_id))


@router.post("/{session_id}/redo", response_model=SessionOut, responses=UNSETTLED)
async def redo(session_id: UUID, sessions: SessionsDep) -> SessionOut:
    """Move the head forward again; nothing runs again."""
    state = await sessions.redo(session_id)
    return SessionOut.from_row(state, await sessions.steps(session_id))


@router.delete("/{session_id}", status_code=204)
async def delete_session(session_id: UUID, sessions: SessionsDep) -> Response:
    """Delete the session; its steps still to run are cancelled, finished edits stay."""
    await sessions.delete(session_id)
    return Response(status_code=204)
