"""Editing sessions as the API sees them: opened on a media, a history of steps, a head that
undo and redo move without running anything."""

from uuid import UUID

from service.domain.cursors import Page, keyset_page, step_cursor, steps_before
from service.domain.media_to_edit import no_such_media
from service.kernel.db import Database, Row
from service.kernel.errors import NotFound

# Steps answered with a session, the newest: a session's history is never pruned while it
# lives, so its older steps are read page by page (steps_cursor), not all at every read.
STEPS_PER_PAGE = 100
MAX_STEPS_PER_PAGE = 500


class Sessions:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def open(self, media_id: UUID) -> Row:
        """A new session on the media; one that does not exist is a parameter of this action
        that names nothing (422, as POST /edit's media), not a missing resource (404)."""
        try:
            row = await self._database.fetch_one("open_session", media_id=media_id)
        except NotFound:
            raise no_such_media(media_id) from None
        assert row is not None
        return await self.state(row["id"])

    async def state(self, session_id: UUID) -> Row:
        row = await session_state(self._database, session_id)
        if row is None:
            raise NotFound(f"session {session_id} does not exist")
        return row

    async def page(self, *, media_id: UUID | None, limit: int, cursor: str | None) -> Page:
        """Newest first, each with its state (head, busy, undo, redo), in one query."""
        return await keyset_page(
            self._database, "session_states", limit=limit, cursor=cursor, id=None,
            media_id=media_id,
        )  # fmt: skip

    async def steps(
        self, session_id: UUID, *, limit: int = STEPS_PER_PAGE, cursor: str | None = None
    ) -> Page:
        """The session's newest `limit` steps (before `cursor`'s), oldest first; the cursor of
        the steps before them, None when they reach the first."""
        before = steps_before(cursor) if cursor is not None else None
        rows = await self._database.fetch_all(
            "session_steps", id=session_id, before_step=before, limit=limit + 1
        )
        older = step_cursor(rows[limit - 1]["session_step"]) if len(rows) > limit else None
        return Page(rows[:limit][::-1], older)

    async def undo(self, session_id: UUID) -> Row:
        await self._database.fetch_one("undo_session", id=session_id)
        return await self.state(session_id)

    async def redo(self, session_id: UUID) -> Row:
        await self._database.fetch_one("redo_session", id=session_id)
        return await self.state(session_id)

    async def delete(self, session_id: UUID) -> None:
        await self._database.fetch_one("delete_session", id=session_id)


async def session_state(database: Database, session_id: UUID) -> Row | None:
    """One session's state: the listing's query, narrowed to its id."""
    return await database.fetch_one(
        "session_states", id=session_id, media_id=None, after_at=None, after_id=None, limit=1
    )
