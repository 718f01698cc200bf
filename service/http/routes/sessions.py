"""/sessions: an editing window on one media, with history, undo and redo."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from service.domain.cursors import CURSOR_ACCEPTED, STEPS_CURSOR_ACCEPTED, Page
from service.domain.sessions import MAX_STEPS_PER_PAGE, STEPS_PER_PAGE
from service.http.deps import LinksDep, SessionsDep
from service.http.schemas import SessionOut, SessionPage

router = APIRouter(prefix="/sessions", tags=["sessions"])

UNSETTLED: dict[int | str, dict[str, str]] = {
    409: {"description": "nothing to undo or redo, or steps still to run"}
}


@router.post("", status_code=201, response_model=SessionOut)
async def open_session(media: UUID, sessions: SessionsDep, links: LinksDep) -> JSONResponse:
    """Open a session on a media. Then `POST /edit?session=ID&...` edits its head."""
    state = await sessions.open(media)
    body = SessionOut.from_row(state, links, steps=Page([], None))
    return JSONResponse(body.model_dump(mode="json"), 201, headers={"Location": body.url})


@router.get("", response_model=SessionPage)
async def list_sessions(
    sessions: SessionsDep,
    links: LinksDep,
    media: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> SessionPage:
    page = await sessions.page(media_id=media, limit=limit, cursor=cursor)
    items = [SessionOut.from_row(state, links) for state in page.rows]
    return SessionPage(items=items, next_cursor=page.next_cursor)


@router.get("/{session_id}", response_model=SessionOut, name="get_session")
async def get_session(
    session_id: UUID,
    sessions: SessionsDep,
    links: LinksDep,
    steps_limit: Annotated[int, Query(ge=1, le=MAX_STEPS_PER_PAGE)] = STEPS_PER_PAGE,
    steps_cursor: Annotated[str | None, Query(description=STEPS_CURSOR_ACCEPTED)] = None,
) -> SessionOut:
    """The session, its head, and its newest steps (operations, status, input and output);
    the steps before them at `steps_next_cursor`, page by page."""
    state = await sessions.state(session_id)
    steps = await sessions.steps(session_id, limit=steps_limit, cursor=steps_cursor)
    return SessionOut.from_row(state, links, steps)


@router.post("/{session_id}/undo", response_model=SessionOut, responses=UNSETTLED)
async def undo(session_id: UUID, sessions: SessionsDep, links: LinksDep) -> SessionOut:
    """Move the head back one step; nothing runs again."""
    state = await sessions.undo(session_id)
    return SessionOut.from_row(state, links, await sessions.steps(session_id))


@router.post("/{session_id}/redo", response_model=SessionOut, responses=UNSETTLED)
async def redo(session_id: UUID, sessions: SessionsDep, links: LinksDep) -> SessionOut:
    """Move the head forward again; nothing runs again."""
    state = await sessions.redo(session_id)
    return SessionOut.from_row(state, links, await sessions.steps(session_id))


@router.delete("/{session_id}", status_code=204)
async def delete_session(session_id: UUID, sessions: SessionsDep) -> Response:
    """Delete the session; its steps still to run are cancelled, finished edits stay."""
    await sessions.delete(session_id)
    return Response(status_code=204)
