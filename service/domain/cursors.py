"""Opaque keyset cursors: the (time, id) of the last item of a page, base64url-encoded."""

import base64
from datetime import datetime
from uuid import UUID

from service.kernel.db import Row
from service.kernel.errors import InvalidParameter

CURSOR_ACCEPTED = "the next_cursor of a previous page"


def encode_cursor(row: Row, time_column: str) -> str:
    moment = row[time_column]
    assert isinstance(moment, datetime)
    raw = f"{moment.isoformat()}|{row['id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, row_id = raw.split("|")
        return datetime.fromisoformat(moment), UUID(row_id)
    except ValueError:
        raise InvalidParameter(
            "cursor", cursor, "not a cursor this API made", accepted=CURSOR_ACCEPTED
        ) from None
