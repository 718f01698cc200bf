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
class CleanupReport:
    expired_uploads: int
    orphaned_objects: int
    stale_upload_files: int
    dead_scratch_folders: int


async def clean_up(database: Database, storage: Storage, settings: Settings) -> CleanupReport:
    grace = timedelta(seconds=settings.orphan_grace_seconds)
    report = CleanupReport(
        expired_uploads=await _expired_uploads(database, storage),
        orphaned_objects=await _orphaned_objects(database, storage, grace),
        stale_upload_files=await asyncio.to_thread(
            remove_stale_files,
            settings.uploads_dir,
            older_than_seconds=grace.total_seconds(),
            now=time.time(),
        ),
        dead_scratch_folders=await remove_dead_scratch(database, settings.edits_dir),
    )
    log.info("clean-up done", extra=dataclasses.asdict(report))
    return report


async def _expired_uploads(database: Database, storage: Storage) -> int:
    removed = 0
    while rows := await database.fetch_all("expired_pending_media", limit=EXPIRED_PER_QUERY):
        for row in rows:
            await storage.delete(row["storage_key"])
        removed += len(rows)
    return removed


async def _orphaned_objects(database: Database, storage: Storage, grace: timedelta) -> int:
    removed = 0
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
) -> int:
    cutoff = datetime.now(UTC) - grace
    old = [stored.key for stored in batch if stored.modified_at < cutoff]
    if not old:
        return 0
    rows = await database.fetch_all("unreferenced_storage_keys", keys=old)
    removed = 0
    for row in rows:
        # Look again just before deleting: an upload of the same bytes may have re-stored it.
        current = await storage.stat(row["key"])
        if current is not None and current.modified_at < cutoff:
            await storage.delete(row["key"])
            removed += 1
    return removed
