"""/events: one Server-Sent Events stream for a page that shows many edits at once."""

import contextlib
import json
from collections.abc import AsyncGenerator
from uuid import UUID

from fastapi import APIRouter

from service.domain.library import MediaLibrary
from service.domain.live import LiveEvent, Scope
from service.domain.sessions import Sessions
from service.domain.workflows import Workflows
from service.http.deps import (
    LibraryDep,
    LinksDep,
    LiveDep,
    MetricsDep,
    SessionsDep,
    SettingsDep,
    StreamSlotsDep,
    WorkflowsDep,
)
from service.http.links import Links
from service.http.openapi import RETRY_AFTER_HEADER_DOC, STREAMS_BUSY
from service.http.schemas import EditOut, MediaOut
from service.http.sse import EventStream
from service.kernel.errors import DatabaseUnavailable, InvalidParameter

router = APIRouter(tags=["edits"])

RECONNECT_MILLISECONDS = 2000


@router.get(
    "/events",
    response_class=EventStream,
    status_code=200,  # EventStream takes no status: OpenAPI needs it said
    responses={
        200: {"content": {"text/event-stream": {}}},
        503: {"description": STREAMS_BUSY, "headers": RETRY_AFTER_HEADER_DOC},
    },
)
async def live_events(
    live: LiveDep,
    links: LinksDep,
    settings: SettingsDep,
    sessions: SessionsDep,
    workflows: WorkflowsDep,
    library: LibraryDep,
    metrics: MetricsDep,
    slots: StreamSlotsDep,
    session: UUID | None = None,
    workflow: UUID | None = None,
    media: UUID | None = None,
) -> EventStream:
    """Server-Sent Events for many edits at once: `event: edit` (the edit as `GET /edit/{id}`
    answers) at every status or progress change of an edit of this `session`, `workflow` or
    `media` (at most one of them; none: every edit), and `event: stats` (counts per status)
    at once and then at most every second when they change. The library's changes come on a
    stream of every edit, or of that `media`: `event: media` (the media as
    `GET /bucket/upload/{id}` answers) when one is ready (uploaded, made by an edit, a presigned
    upload completed) or is no longer only a copy made by an address, and `event:
    media-deleted` (`{"id": ...}`) when one is deleted. `event: reset` says changes may
    have been missed: read the state again (as after a reconnect). Comments keep it alive. A
    client that takes nothing for `EDITROOM_SSE_STALL_SECONDS`, or falls 10,000 changes
    (edits and media) behind, is dropped: reconnect and read the state again. With
    `EDITROOM_MAX_EVENT_STREAMS` streams open (this one and `/edit/{id}/events` together), a
    503 with `Retry-After`."""
    given = [(name, value) for name, value in
             (("session", session), ("workflow", workflow), ("media", media)) if value]  # fmt: skip
    if len(given) > 1:
        raise InvalidParameter(
            given[1][0], str(given[1][1]), "a stream follows one scope",
            accepted="one of session, workflow or media, or none for every edit",
        )  # fmt: skip
    await _check_exists(sessions, workflows, library, session, workflow, media)
    scope = Scope(session_id=session, workflow_id=workflow, media_id=media)

    def render(event: LiveEvent) -> str:
        return _frame(event, links)

    async def stream() -> AsyncGenerator[str, None]:
        yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
        async for event in live.watch(scope):
            yield event.frame(render)
        if not live.stopping:  # the watch ends when its reader fell behind, or at shutdown
            metrics.stream_dropped("behind")

    return EventStream(
        stream(), slots=slots, stall_seconds=settings.sse_stall_seconds, metrics=metrics
    )


async def _check_exists(
    sessions: Sessions,
    workflows: Workflows,
    library: MediaLibrary,
    session: UUID | None,
    workflow: UUID | None,
    media: UUID | None,
) -> None:
    """A 404 before the stream starts: a stream of what does not exist would stay silent. An
    outage is not a 404: the stream then starts, ends when it finds the database gone, and
    the browser's EventSource reconnects, which it would not after a 503."""
    with contextlib.suppress(DatabaseUnavailable):
        if session is not None:
            await sessions.state(session)
        elif workflow is not None:
            await workflows.get(workflow)
        elif media is not None:
            await library.get(media)


def _frame(event: LiveEvent, links: Links) -> str:
    if event.kind == "keep-alive":
        return ": keep-alive\n\n"
    if event.edit is not None:
        data = EditOut.from_row(event.edit, links).model_dump_json()
    elif event.media is not None:
        data = MediaOut.from_row(event.media, links).model_dump_json()
    elif event.kind == "media-deleted":
        data = json.dumps({"id": str(event.media_id)})
    else:
        data = json.dumps(event.counts or {})
    return f"event: {event.kind}\ndata: {data}\n\n"
