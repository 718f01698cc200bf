"""Readiness: PostgreSQL answers and its schema is at the revision this code expects."""

from dataclasses import dataclass

from service.kernel.db import Database
from service.kernel.errors import DatabaseUnavailable
from service.kernel.migrations import head_revision


@dataclass(frozen=True, slots=True)
class Readiness:
    schema: str  # the revision this code expects
    problem: dict[str, str] | None  # what is wrong, by what it is about; None: ready


class Health:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def readiness(self) -> Readiness:
        expected = head_revision()
        try:
            row = await self._database.fetch_one("schema_revision")
        except DatabaseUnavailable as exc:
            return Readiness(expected, {"database": str(exc)})
        found = None if row is None else row["revision"]
        if found != expected:
            detail = f"schema is at {found}, expected {expected}: run `editroom db upgrade`"
            return Readiness(expected, {"schema": detail})
        return Readiness(expected, None)
