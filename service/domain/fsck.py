"""`editroom fsck`: do the stored objects and the media rows agree?

Two walks, neither holding more than a page: every stored object (listed a page at a time)
must have a row, and every ready row (read a page at a time, keyset on its id) must have its
object, of the size the row says and, with `verify`, of the SHA-256 it says.

What is repaired, and why only that (docs/decisions.md, "editroom fsck"):
- An object no row refers to, older than EDITROOM_ORPHAN_GRACE_SECONDS, is deleted: nothing
  can read it, and the grace keeps uploads in flight (object stored, row not yet) safe.
  Younger ones are counted and left alone.
- A ready row whose object is gone cannot be mended: the bytes are lost. It is reported; with
  `repair_missing` the media is forgotten (editroom.forget_lost_media), unless an edit still
  to run reads it or a session depends on it.
- An object whose size or hash differs from its row is reported and never "fixed": rewriting
  the row would bless corrupted bytes as the media.
- A video whose row says it lasts 0 s is measured from its object and its length recorded;
  with `remeasure_videos`, every video is measured, and its length recorded where it differs
  from its row's (fsck_lengths.py).
"""

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from service.domain.cleanup import KEYS_PER_QUERY, PREFIXES
from service.domain.fsck_lengths import VideoLengths
from service.domain.fsck_report import (
    HASH_MISMATCH,
    LEFT,
    MISSING,
    ORPHAN,
    REPAIRED,
    SIZE_MISMATCH,
    WOULD_REPAIR,
    Finding,
    FsckOptions,
    FsckReport,
)
from service.kernel.db import Database, Row
from service.kernel.errors import Conflict, NotFound, ObjectMissing
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage, StoredObject

__all__ = ["CONCURRENT_CHECKS", "Finding", "FsckOptions", "FsckReport", "fsck"]

ROWS_PER_QUERY = 500
CONCURRENT_CHECKS = 8  # objects looked at (stat, hash) at once: S3 answers in parallel


async def fsck(
    database: Database,
    storage: Storage,
    settings: Settings,
    *,
    options: FsckOptions,
    on_finding: Callable[[Finding], None],
) -> FsckReport:
    check = _Check(database, storage, settings, options, on_finding)
    try:
        await check.every_object_has_a_row()
        await check.every_row_has_its_object()
    finally:
        await check.close()
    return check.report


class _Check:
    def __init__(
        self,
        database: Database,
        storage: Storage,
        settings: Settings,
        options: FsckOptions,
        on_finding: Callable[[Finding], None],
    ) -> None:
        self._database = database
        self._storage = storage
        self._grace = timedelta(seconds=settings.orphan_grace_seconds)
        self._options = options
        self._on_finding = on_finding
        self._slots = asyncio.Semaphore(CONCURRENT_CHECKS)
        self.report = FsckReport()
        self._lengths = VideoLengths(
            database, storage, settings,
            dry_run=options.dry_run, remeasure=options.remeasure_videos, report=self.report,
            found=self._tell, missing=self._missing,
        )  # fmt: skip

    async def close(self) -> None:
        await self._lengths.close()

    def _found(
        self, problem: str, key: str, *, media_id: UUID | None = None, detail: str, outcome: str
    ) -> None:
        self._tell(Finding(problem, key, media_id, detail, outcome))

    def _tell(self, finding: Finding) -> None:
        self.report.found[finding.problem] += 1
        self.report.outcomes[finding.outcome] += 1
        self._on_finding(finding)

    # Objects without a row

    async def every_object_has_a_row(self) -> None:
        for prefix in PREFIXES:
            batch: list[StoredObject] = []
            async for stored in self._storage.list(prefix):
                self.report.objects_checked += 1
                batch.append(stored)
                if len(batch) == KEYS_PER_QUERY:
                    await self._unreferenced(batch)
                    batch = []
            await self._unreferenced(batch)

    async def _unreferenced(self, batch: list[StoredObject]) -> None:
        if not batch:
            return
        rows = await self._database.fetch_all(
            "unreferenced_storage_keys", keys=[stored.key for stored in batch]
        )
        unreferenced = {row["key"] for row in rows}
        cutoff = datetime.now(UTC) - self._grace
        for stored in batch:
            if stored.key not in unreferenced:
                continue
            if stored.modified_at >= cutoff:
                self.report.young_unreferenced += 1
            else:
                await self._orphan(stored, cutoff)

    async def _orphan(self, stored: StoredObject, cutoff: datetime) -> None:
        stored_at = f"{stored.modified_at:%Y-%m-%d %H:%M:%S} UTC"
        detail = f"no media row refers to it ({stored.size_bytes} bytes, stored {stored_at})"
        if self._options.dry_run:
            self._found(ORPHAN, stored.key, detail=detail, outcome=WOULD_REPAIR)
            return
        # Look again just before deleting: an upload of the same bytes may have re-stored it.
        current = await self._storage.stat(stored.key)
        if current is None or current.modified_at >= cutoff:
            return
        await self._storage.delete(stored.key)
        self._found(ORPHAN, stored.key, detail=f"{detail}; deleted", outcome=REPAIRED)

    # Rows without their object

    async def every_row_has_its_object(self) -> None:
        after = UUID(int=0)
        while rows := await self._database.fetch_all(
            "ready_media_page", after=after, limit=ROWS_PER_QUERY
        ):
            self.report.media_checked += len(rows)
            await asyncio.gather(*(self._row(row) for row in rows))
            after = rows[-1]["id"]

    async def _row(self, row: Row) -> None:
        async with self._slots:
            intact = await self._object_intact(row)
        # Measured with the slot given back: measuring waits its turn (one video at a time),
        # and other rows' checks must not wait behind it.
        if intact:
            await self._lengths.check(row)

    async def _object_intact(self, row: Row) -> bool:
        """Whether the row's object is there, of its size (and SHA-256, with `verify`)."""
        key, media_id = row["storage_key"], row["id"]
        stored = await self._storage.stat(key)
        if stored is None:
            await self._missing(row)
            return False
        if stored.size_bytes != row["size_bytes"]:
            detail = f"the media is {row['size_bytes']} bytes, its object {stored.size_bytes}"
            self._found(SIZE_MISMATCH, key, media_id=media_id, detail=detail, outcome=LEFT)
            return False
        return not self._options.verify or await self._hash_matches(row)

    async def _hash_matches(self, row: Row) -> bool:
        key, media_id = row["storage_key"], row["id"]
        try:
            digest = await self._sha256(key)
        except ObjectMissing:
            await self._missing(row)
            return False
        self.report.objects_hashed += 1
        if digest != row["sha256"]:
            detail = f"the media's SHA-256 is {row['sha256']}, its object's {digest}"
            self._found(HASH_MISMATCH, key, media_id=media_id, detail=detail, outcome=LEFT)
            return False
        return True

    async def _sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        async for chunk in self._storage.read(key):
            digest.update(chunk)
        return digest.hexdigest()

    async def _missing(self, row: Row) -> None:
        key, media_id = row["storage_key"], row["id"]
        # Look again: media deleted meanwhile (row first, then object) is not missing anything.
        current = await self._database.fetch_one("media_by_id", id=media_id)
        if current is None or current["status"] != "ready" or await self._storage.stat(key):
            return
        repair = await self._repair_missing(media_id)
        if repair is not None:
            outcome, what = repair
            detail = f"its stored object is gone; {what}"
            self._found(MISSING, key, media_id=media_id, detail=detail, outcome=outcome)

    async def _repair_missing(self, media_id: UUID) -> tuple[str, str] | None:
        """The outcome and what was done; None when the media was deleted meanwhile."""
        if not self._options.repair_missing:
            return LEFT, "--repair-missing forgets the media"
        if self._options.dry_run:
            return WOULD_REPAIR, "the media would be forgotten"
        try:
            await self._database.fetch_one("forget_lost_media", id=media_id)
        except NotFound:
            return None
        except Conflict as exc:
            return LEFT, f"not forgotten: {exc}"
        return REPAIRED, "the media was forgotten"
