"""Idempotency-Key: a client that retries a request (after a timeout, a dropped connection)
with the same key gets the edits the first try made, never a second set, as Stripe and the
IETF httpapi idempotency-key draft do it.

The key is remembered in PostgreSQL (editroom.take_idempotency_key_with_left_out) with a
fingerprint of the request (its route, what it edits, its operations in canonical form, its
other parameters) for EDITROOM_IDEMPOTENCY_WINDOW_SECONDS. The same key with the same request
is a replay; with another request, a 422; two at once make one set of edits (the second waits
for the first). The key and the edits commit together, in one transaction. A replay answers
what the first request answered, kept with the key (its edits, and what a workflow batch left
out), and nothing is judged or made again: the media, the workflow and the queue may have
changed since."""

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from service.kernel.db import Database, Row
from service.kernel.errors import InvalidHeader, InvalidInput, InvalidParameter, NotFound

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"  # "true" on an answer that replays an earlier request
MAX_KEY_CHARS = 255
KEY_ACCEPTED = f"1 to {MAX_KEY_CHARS} printable ASCII characters, unique per request, e.g. a UUID"
KEY_DESCRIPTION = (
    "Makes the request safe to retry: the same key with the same request, within "
    "EDITROOM_IDEMPOTENCY_WINDOW_SECONDS (a day by default), answers the edits the first made "
    f"(header `{REPLAYED_HEADER}: true`) instead of making new ones; with another request, a "
    f"422. {KEY_ACCEPTED}."
)
_KEY = re.compile(rf"[\x20-\x7e]{{1,{MAX_KEY_CHARS}}}")


@dataclass(frozen=True, slots=True)
class Made:
    rows: list[Row]  # the edits, in the order they were made
    replayed: bool = False  # True: an earlier request with this key made them
    left_out: list[dict[str, Any]] = field(default_factory=list)
    """The media a workflow batch left out, each as its answer says it ({"media", "error"}:
    errors.left_out_said), kept with the key and answered again as they were."""


def parse_key(text: str | None) -> str | None:
    """The Idempotency-Key header's value, or None without one; a malformed one is a 400."""
    if text is None:
        return None
    if not _KEY.fullmatch(text):
        raise InvalidHeader(KEY_HEADER, text, _key_problem(text), accepted=KEY_ACCEPTED)
    return text


def _key_problem(text: str) -> str:
    if len(text) > MAX_KEY_CHARS:
        return f"is {len(text):,} characters long"
    odd = next((c for c in text if not "\x20" <= c <= "\x7e"), None)
    if odd is None:
        return "is empty"
    return f"has {odd!r} (U+{ord(odd):04X}), which is not a printable ASCII character"


def fingerprint(route: str, **request: Any) -> str:
    """What makes two requests the same request: the route and its parameters (operations in
    canonical form), as canonical JSON hashed with SHA-256."""
    canonical = json.dumps(
        {"route": route, **request}, sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def made_once(
    database: Database,
    *,
    key: str | None,
    request: str,
    window_seconds: float,
    make: Callable[[], Awaitable[Made]],
) -> Made:
    """What `make` makes, unless a request with this `key` made it already: then what that
    request answered (replayed), `make` not called. Without a key, `make` simply runs.
    `request`: its fingerprint. Whatever `make` raises undoes the key's taking."""
    if key is None:
        return await make()
    async with database.transaction():
        taken = await _take(database, key, request, window_seconds)
        if taken["edit_ids"] is not None:
            return await _made_before(database, key, taken)
        made = await make()
        await database.fetch_all(
            "keep_idempotency_key", key=key, edit_ids=[row["id"] for row in made.rows],
            left_out=json.dumps(made.left_out) if made.left_out else None,
        )  # fmt: skip
    return made


async def _made_before(database: Database, key: str, taken: Row) -> Made:
    """`taken`: the key as _take answered it, with what its first request kept, whose edits
    are read again. A key kept before migration 0019 has no left_out (NULL): its replay says
    none was left out."""
    edit_ids: list[UUID] = taken["edit_ids"]
    rows = await database.fetch_all("edits_by_ids", ids=edit_ids)
    if len(rows) < len(edit_ids):  # pruned, or their media deleted, within the window
        raise NotFound(
            f"the edits Idempotency-Key {key!r} made no longer exist; a new request needs a new key"
        )
    return Made(rows, replayed=True, left_out=taken["left_out"] or [])


async def _take(database: Database, key: str, request: str, window_seconds: float) -> Row:
    """The key taken: edit_ids None, it is this request's; else what the first request kept
    with it (its edit_ids and left_out), read in the statement that takes it."""
    try:
        row = await database.fetch_one(
            "take_idempotency_key", key=key, fingerprint=request,
            window=timedelta(seconds=window_seconds),
        )  # fmt: skip
    except InvalidInput as exc:  # the key is well formed: it was used for another request
        raise InvalidParameter(
            KEY_HEADER, key, f"{exc}: another route, media, operations or parameters",
            accepted="the same request again with this key, or a new key for a new request",
        ) from None  # fmt: skip
    assert row is not None
    return row
