"""The media a POST /edit names, looked up with the queue's admission in one round trip, and
remembered: what an edit is worked out from (the media's kind and the SHA-256 of its bytes),
and whether it can be edited at all (whether it has a picture), never change for a media id,
so the next edit of a media the service has seen skips the look-up and is made behind
admission in one statement (editroom.enqueue_edit_once_admitted), which checks that the media
is still there. A media found gone then is forgotten."""

from collections import OrderedDict
from typing import Any
from uuid import UUID

from service.domain.admission import refuse_when_full
from service.domain.source_facts import FACTS as SOURCE_FACTS
from service.kernel.db import Database, Row
from service.kernel.errors import InvalidParameter, NotFound

REMEMBERED_MEDIA = 4096  # ids; the least recently edited are forgotten first
# All an edit is worked out from and checked by (video_codec: sound_alone.py; width, height,
# duration: source_facts.py); fixed for an id.
FACTS = ("id", "kind", "sha256", "video_codec", *SOURCE_FACTS)


class MediaToEdit:
    def __init__(self, database: Database, *, max_queued: int) -> None:
        self._database = database
        self._max_queued = max_queued
        self._known: OrderedDict[UUID, Row] = OrderedDict()

    def known(self, media_id: UUID) -> Row | None:
        """The media's facts if the service has seen it, else None (look it up)."""
        facts = self._known.get(media_id)
        if facts is not None:
            self._known.move_to_end(media_id)
        return facts

    async def look_up(self, media_id: UUID, *, admit: bool) -> Row:
        """The media to edit, read (and its facts kept). `admit`: once admission has passed,
        one round trip reading both, a full queue refused first."""
        if not admit:
            return self._ready(media_id, await self._database.fetch_one("media_by_id", id=media_id))
        row = await self._database.fetch_one("media_to_edit", id=media_id)
        assert row is not None  # one row, the media's columns NULL when there is none
        refuse_when_full(row.pop("waiting"), max_queued=self._max_queued)
        return self._ready(media_id, row)

    async def enqueue_admitted(self, **enqueue: Any) -> Row:
        """editroom.enqueue_edit_once_admitted for a known media: the edit (as the query
        enqueue_edit_once returns it), or TooManyQueued, or InvalidParameter if it is gone."""
        media_id = enqueue["media_id"]
        try:
            row = await self._database.fetch_one(
                "enqueue_edit_once_admitted", max_queued=self._max_queued, **enqueue
            )
        except NotFound:
            self._known.pop(media_id, None)
            raise no_such_media(media_id) from None
        assert row is not None
        refuse_when_full(row.pop("waiting"), max_queued=self._max_queued)
        assert row["id"] is not None  # made unless refused
        return row

    def _ready(self, media_id: UUID, row: Row | None) -> Row:
        if row is None or row["id"] is None or row["status"] != "ready":
            raise no_such_media(media_id)
        self._known[media_id] = {name: row[name] for name in FACTS}
        self._known.move_to_end(media_id)
        if len(self._known) > REMEMBERED_MEDIA:
            self._known.popitem(last=False)
        return row


def no_such_media(media_id: UUID) -> InvalidParameter:
    return InvalidParameter(
        "media", str(media_id), "no such media", accepted="the id of an uploaded image or video"
    )
