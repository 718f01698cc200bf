"""A runner's housekeeping, beside its claiming. Every reap interval: attempts past their lease
are reaped, finished edits archived (in bounded batches), expired idempotency keys forgotten
and history past its retention dropped. Every clean-up interval: what nothing refers to any
more is removed (service/domain/cleanup.py). Every runner does it; each statement is safe to
run from many runners at once. A failure is logged and the next round tries again."""

import asyncio
import logging
import time
from datetime import timedelta

from service.domain.cleanup import clean_up
from service.kernel.db import Database
from service.kernel.errors import EditroomError
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage

log = logging.getLogger(__name__)

ARCHIVE_SHARE_OF_ROUND = 0.5  # of the reap interval: how long a round may go on archiving


async def maintenance_loop(database: Database, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.reap_interval_seconds)
        try:
            await maintain(database, settings)
        except EditroomError as exc:
            log.warning("maintenance failed", extra={"error": str(exc)})


async def maintain(database: Database, settings: Settings) -> None:
    row = await database.fetch_one("reap_expired_leases")
    if row and row["reaped"]:
        log.warning("reaped expired leases", extra={"count": row["reaped"]})
    await archive(database, settings)
    await database.fetch_one("forget_expired_idempotency_keys")
    if settings.edit_retention_days > 0:
        await database.fetch_one(
            "prune_finished_edits", older_than=timedelta(days=settings.edit_retention_days)
        )


async def archive(database: Database, settings: Settings) -> None:
    """Move finished edits out of the queue table, a bounded batch per statement (one
    transaction each), while batches come back full: a backlog is worked off at once, but
    for ARCHIVE_SHARE_OF_ROUND of the reap interval at most (the rest: next round)."""
    deadline = time.monotonic() + settings.reap_interval_seconds * ARCHIVE_SHARE_OF_ROUND
    while True:
        row = await database.fetch_one(
            "archive_finished_edits",
            older_than=timedelta(seconds=settings.edit_archive_after_seconds),
            limit=settings.edit_archive_batch,
        )
        if row is None or row["archived"] < settings.edit_archive_batch:
            return
        if time.monotonic() >= deadline:
            return


async def cleanup_loop(database: Database, storage: Storage, settings: Settings) -> None:
    while True:
        await asyncio.sleep(settings.cleanup_interval_seconds)
        try:
            await clean_up(database, storage, settings)
        except EditroomError as exc:
            log.warning("clean-up failed", extra={"error": str(exc)})
