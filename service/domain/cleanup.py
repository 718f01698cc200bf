"""Removing what nothing refers to: presigned uploads never completed, stored objects no media
row points to, temporary upload files a crash left behind, and the scratch folders of edit
attempts whose runner died (service/domain/scratch.py). Runners do it on a schedule;
`editroom cleanup` does it once.

Young objects are never touched (EDITROOM_ORPHAN_GRACE_SECONDS): an upload stores its object
a moment before it records its row."""

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.domain.scratch import remove_dead_scratch
from service.kernel.db import Database
from service.kernel.receive import remove_stale_files
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage, StoredObject

log = logging.getLogger(__name__)

PREFIXES = ("media", "pending", "partial")
KEYS_PER_QUERY = 500
EXPIRED_PER_QUERY = 1000


@dataclass(frozen=True, slots=True)
class Removed:
    """How many things of one sort went, and their bytes."""

    count: int = 0
    size_bytes: int = 0

    def __add__(self, other: "Removed") -> "Removed":
        return Removed(self.count + other.count, self.size_bytes + other.size_bytes)


@dataclass(frozen=True, slots=True, kw_only=True)
class CleanupReport:
    expired_uploads: int  # counted only: their objects (if any was sent) are not looked at
    orphaned_objects: int
    orphaned_bytes: int
    stale_upload_files: int
    stale_upload_bytes: int
    dead_scratch_folders: int

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """What `editroom cleanup` prints: one line a sort, what went and what it held."""
        return "\n".join([
            f"expired presigned uploads removed: {self.expired_uploads}",
            f"orphaned stored objects removed: {self.orphaned_objects} "
            f"({self.orphaned_bytes:,} bytes)",
            f"stale upload files removed: {self.stale_upload_files} "
            f"({self.stale_upload_bytes:,} bytes)",
            f"dead attempts' scratch folders removed: {self.dead_scratch_folders}",
        ])  # fmt: skip


async def clean_up(database: Database, storage: Storage, settings: Settings) -> CleanupReport:
    grace = timedelta(seconds=settings.orphan_grace_seconds)
    expired = await _expired_uploads(database, storage)
    orphaned = await _orphaned_objects(database, storage, grace)
    stale_files, stale_bytes = await asyncio.to_thread(
        remove_stale_files,
        settings.uploads_dir,
        older_than_seconds=grace.total_seconds(),
        now=time.time(),
    )
    report = CleanupReport(
        expired_uploads=expired,
        orphaned_objects=orphaned.count,
        orphaned_bytes=orphaned.size_bytes,
        stale_upload_files=stale_files,
        stale_upload_bytes=stale_bytes,
        dead_scratch_folders=await remove_dead_scratch(database, settings.edits_dir),
    )
    log.info("clean-up done", extra=report.as_json())
    return report


async def _expired_uploads(database: Database, storage: Storage) -> int:
    removed = 0
    while rows := await database.fetch_all("expired_pending_media", limit=EXPIRED_PER_QUERY):
        for row in rows:
            await storage.delete(row["storage_key"])
        removed += len(rows)
    return removed


async def _orphaned_objects(database: Database, storage: Storage, grace: timedelta) -> Removed:
    removed = Removed()
    for prefix in PREFIXES:
        batch: list[StoredObject] = []
        async for stored in storage.list(prefix):
            batch.append(stored)
            if len(batch) == KEYS_PER_QUERY:
                removed += await _remove_unreferenced(database, storage, batch, grace)
                batch = []
        removed += await _remove_unreferenced(database, storage, batch, grace)
    return removed


async def _remove_unreferenced(
    database: Database, storage: Storage, batch: list[StoredObject], grace: timedelta
) -> Removed:
    cutoff = datetime.now(UTC) - grace
    old = [stored.key for stored in batch if stored.modified_at < cutoff]
    if not old:
        return Removed()
    rows = await database.fetch_all("unreferenced_storage_keys", keys=old)
    removed = Removed()
    for row in rows:
        # Look again just before deleting: an upload of the same bytes may have re-stored it.
        current = await storage.stat(row["key"])
        if current is not None and current.modified_at < cutoff:
            await storage.delete(row["key"])
            removed += Removed(1, current.size_bytes)
    return removed
