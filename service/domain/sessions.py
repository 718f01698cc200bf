"""Editing sessions as the API sees them: opened on a media, a history of steps, a head that
undo and redo move without running anything."""

from uuid import UUID

from service.kernel.db import Database, Row
from service.kernel.errors import NotFound


class Sessions:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def open(self, media_id: UUID) -> Row:
        row = await self._database.fetch_one("open_session", media_id=media_id)
        assert row is not None
        return await self.state(row["id"])

    async def state(self, session_id: UUID) -> Row:
        row = await self._database.fetch_one("session_state", id=session_id)
        if row is None:
            raise NotFound(f"session {session_id} does not exist")
        return row

    async def steps(self, session_id: UUID) -> list[Row]:
        return await self._database.fetch_all("session_steps", id=session_id)

    async def undo(self, session_id: UUID) -> Row:
        await self._database.fetch_one("undo_session", id=session_id)
        return await self.state(session_id)

    async def redo(self, session_id: UUID) -> Row:
        await self._database.fetch_one("redo_session", id=session_id)
        return await self.state(session_id)

    async def delete(self, session_id: UUID) -> None:
        await self._database.fetch_one("delete_session", id=session_id)
