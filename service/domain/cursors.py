"""Keyset pages, newest first: a listing's rows after an opaque cursor, the (time, id) of the
last item of the previous page, base64url-encoded."""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from service.kernel.db import Database, Row
from service.kernel.errors import InvalidParameter

CURSOR_ACCEPTED = "the next_cursor of a previous page"


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[Row]
    next_cursor: str | None  # None: this is the last page


async def keyset_page(
    database: Database,
    query: str,
    *,
    limit: int,
    cursor: str | None,
    time_column: str = "created_at",
    **filters: Any,
) -> Page:
    """One page of a named query that orders by (`time_column`, id) descending and takes
    `after_at`, `after_id` and `limit`: one row more than asked for says another page follows."""
    after_at, after_id = _decode_cursor(cursor) if cursor is not None else (None, None)
    rows = await database.fetch_all(
        query, after_at=after_at, after_id=after_id, limit=limit + 1, **filters
    )
    next_cursor = _encode_cursor(rows[limit - 1], time_column) if len(rows) > limit else None
    return Page(rows[:limit], next_cursor)


def _encode_cursor(row: Row, time_column: str) -> str:
    moment = row[time_column]
    assert isinstance(moment, datetime)
    raw = f"{moment.isoformat()}|{row['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, row_id = raw.split("|")
        return datetime.fromisoformat(moment), UUID(row_id)
    except ValueError:
        raise InvalidParameter(
            "cursor", cursor, "not a cursor this API made", accepted=CURSOR_ACCEPTED
        ) from None


# A session's steps are paged by their number, newest first (steps are numbered under the
# session's lock; their times need not follow that order).
STEPS_CURSOR_ACCEPTED = "the steps_next_cursor of a previous answer"
_STEP_PREFIX = "step|"
_LAST_STEP = 2**31 - 1  # edits.session_step is an integer


def step_cursor(step: int) -> str:
    """The cursor of the steps before step number `step`."""
    return base64.urlsafe_b64encode(f"{_STEP_PREFIX}{step}".encode()).decode().rstrip("=")


def steps_before(cursor: str) -> int:
    """The step number `cursor` (step_cursor's) says the steps asked for come before."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        step = int(raw.removeprefix(_STEP_PREFIX)) if raw.startswith(_STEP_PREFIX) else 0
    except ValueError:
        step = 0
    if not 1 <= step <= _LAST_STEP:
        raise InvalidParameter(
            "steps_cursor", cursor, "not a cursor this API made", accepted=STEPS_CURSOR_ACCEPTED
        )
    return step
