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
- A video whose row says it lasts 0 s (uploads from before the probe read a header's 0 as no
  length; edits take it as of unknown length) is measured again from its object, checked as an
  upload is, in the uploads' sandbox, and the length recorded: a fact of the same bytes, which
  only fills in one the row never had. One video is measured at a time: each copies its object
  into the uploads folder first, and fsck's checks must not wait for each other. An object
  larger than EDITROOM_MAX_UPLOAD_BYTES is not copied (an upload that large is refused too).
- With `remeasure_videos`, every other video is measured so too, and where its object lasts
  more than LENGTH_TOLERANCE_SECONDS longer or shorter than its row says, the measured length
  replaces the recorded one (rows uploaded before a video lasted as long as its longest stream
  recorded its picture's). A dry run measures too (only a measure tells), and records nothing.
"""

import asyncio
import hashlib
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from runner.engine.ops.base import MediaKind, known_seconds
from runner.engine.probe import MediaFacts
from runner.engine.sandbox import Sandbox
from service.domain.cleanup import KEYS_PER_QUERY, PREFIXES
from service.domain.library import MediaLibrary
from service.domain.sound_alone import has_picture
from service.kernel.db import Database, Row
from service.kernel.errors import (
    Conflict,
    InvalidMedia,
    NotFound,
    ObjectMissing,
    SandboxIOError,
    StorageError,
    UnsupportedMedia,
    reason,
)
from service.kernel.receive import TEMPORARY_PREFIX
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage, StoredObject

ROWS_PER_QUERY = 500
CONCURRENT_CHECKS = 8  # objects looked at (stat, hash) at once: S3 answers in parallel

ORPHAN = "orphan"  # a stored object no row refers to
MISSING = "missing"  # a ready row whose object is gone
SIZE_MISMATCH = "size_mismatch"
HASH_MISMATCH = "hash_mismatch"
UNKNOWN_LENGTH = "unknown_length"  # a video whose row says 0 s: measured from its object
WRONG_LENGTH = "wrong_length"  # remeasure_videos: its object lasts other than its row says
UNMEASURED = "unmeasured"  # remeasure_videos: a video whose object could not be measured
PROBLEMS = (
    ORPHAN, MISSING, SIZE_MISMATCH, HASH_MISMATCH, UNKNOWN_LENGTH, WRONG_LENGTH, UNMEASURED
)  # fmt: skip
# A recorded length this close to the measured one is left: less than a frame at 20 fps, where
# the same end read by other rules differs (an AAC track's padding, a last frame's length), not
# a stream the row left out. Trims past it are within the video's last frame.
LENGTH_TOLERANCE_SECONDS = 0.05
# What measuring a length may be refused for, said as the finding's detail: the file as an
# upload's check now judges it (limits may have changed since), or trouble copying the object
# (the bucket; the disk: OSError) or in the check's own I/O. Never ChecksBusy: fsck's checks are
# its own, one at a time.
MEASURING_FAILED = (InvalidMedia, UnsupportedMedia, SandboxIOError, StorageError, OSError)

REPAIRED = "repaired"
WOULD_REPAIR = "would_repair"  # what --dry-run found it would repair
LEFT = "left"  # for a person to decide

# Tells of a finding about a video's length: (row, what was done or found, outcome).
_Report = Callable[[Row, str, str], None]


@dataclass(frozen=True, slots=True)
class FsckOptions:
    verify: bool = False  # read every object and compare its SHA-256 with its row
    repair_missing: bool = False  # forget ready media whose object is gone
    dry_run: bool = False  # report what would be repaired, change nothing
    remeasure_videos: bool = False  # measure every video's length, record where it differs


@dataclass(frozen=True, slots=True)
class Finding:
    problem: str
    key: str
    media_id: UUID | None
    detail: str
    outcome: str

    def line(self) -> str:
        media = f" (media {self.media_id})" if self.media_id else ""
        return f"{self.problem}: {self.key}{media}: {self.detail} [{self.outcome}]"

    def as_json(self) -> dict[str, Any]:
        media_id = None if self.media_id is None else str(self.media_id)
        return {
            "problem": self.problem, "key": self.key, "media_id": media_id,
            "detail": self.detail, "outcome": self.outcome,
        }  # fmt: skip


@dataclass(slots=True)
class FsckReport:
    objects_checked: int = 0
    media_checked: int = 0
    objects_hashed: int = 0
    young_unreferenced: int = 0  # objects without a row, younger than the grace: left alone
    videos_remeasured: int = 0  # remeasure_videos: videos of known length measured again
    lengths_recorded: int = 0  # measured lengths written to rows (0 s and wrong ones)
    found: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        """Nothing left: every finding (if any) was repaired."""
        return self.outcomes[LEFT] + self.outcomes[WOULD_REPAIR] == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "objects_checked": self.objects_checked,
            "media_checked": self.media_checked,
            "objects_hashed": self.objects_hashed,
            "young_unreferenced": self.young_unreferenced,
            "videos_remeasured": self.videos_remeasured,
            "lengths_recorded": self.lengths_recorded,
            "found": {problem: self.found[problem] for problem in PROBLEMS},
            "repaired": self.outcomes[REPAIRED],
            "would_repair": self.outcomes[WOULD_REPAIR],
            "left": self.outcomes[LEFT],
            "clean": self.clean,
        }

    def summary(self) -> str:
        found = ", ".join(f"{self.found[p]} {p.replace('_', ' ')}" for p in PROBLEMS)
        verdict = "clean" if self.clean else "NOT clean"
        return "\n".join([
            f"checked {self.objects_checked} stored objects and {self.media_checked} ready media"
            f" ({self.objects_hashed} hashed, {self.videos_remeasured} videos measured again)",
            f"found: {found}",
            f"repaired {self.outcomes[REPAIRED]}, would repair {self.outcomes[WOULD_REPAIR]}, "
            f"left {self.outcomes[LEFT]}; {self.young_unreferenced} objects without a row are "
            "younger than EDITROOM_ORPHAN_GRACE_SECONDS and were left alone",
            *self._restart(),
            verdict,
        ])  # fmt: skip

    def _restart(self) -> list[str]:
        if not self.lengths_recorded:
            return []
        return [
            f"recorded {self.lengths_recorded} video lengths: restart the service (editroom "
            "serve), which keeps the length of a media it has edited until it restarts"
        ]


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
        self._settings = settings
        self._library: MediaLibrary | None = None  # made for the first length to measure
        self._grace = timedelta(seconds=settings.orphan_grace_seconds)
        self._options = options
        self._on_finding = on_finding
        self._slots = asyncio.Semaphore(CONCURRENT_CHECKS)
        # One video measured at a time: one copy on disk, and its library's check slot free.
        self._measuring = asyncio.Semaphore(1)
        self.report = FsckReport()

    async def close(self) -> None:
        if self._library is not None:
            await self._library.sandbox.close()

    def _found(
        self, problem: str, key: str, *, media_id: UUID | None = None, detail: str, outcome: str
    ) -> None:
        self.report.found[problem] += 1
        self.report.outcomes[outcome] += 1
        self._on_finding(Finding(problem, key, media_id, detail, outcome))

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
        if not intact or not _measurable(row):
            return
        if known_seconds(row["duration_seconds"]) is None:
            await self._measure(row)
        elif self._options.remeasure_videos:
            await self._remeasure(row)

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

    # Videos of unknown length, and (remeasure_videos) of any length

    async def _measure(self, row: Row) -> None:
        """A video whose row says 0 s: measured, and its length recorded."""
        if not self._copyable(row, self._unknown_length):
            return
        if self._options.dry_run:
            self._unknown_length(row, "it would be measured", WOULD_REPAIR)
            return
        seconds = await self._measured(row, self._unknown_length)
        if seconds is not None and await self._record(row, seconds):
            self._unknown_length(row, f"measured {seconds:g} s, and recorded", REPAIRED)

    async def _remeasure(self, row: Row) -> None:
        """A video of known length, measured again; the measure recorded where it differs."""
        if not self._copyable(row, self._unmeasured):
            return
        seconds = await self._measured(row, self._unmeasured)
        if seconds is None:
            return
        self.report.videos_remeasured += 1
        if abs(seconds - row["duration_seconds"]) <= LENGTH_TOLERANCE_SECONDS:
            return
        if self._options.dry_run:
            self._wrong_length(row, f"measured {seconds:g} s; it would be recorded", WOULD_REPAIR)
        elif await self._record(row, seconds):
            self._wrong_length(row, f"measured {seconds:g} s, and recorded", REPAIRED)

    async def _measured(self, row: Row, left: _Report) -> float | None:
        """The length of the row's object, checked as an upload is; None when it has none or
        cannot be measured (told to `left`, saying why) or is gone (a missing finding)."""
        try:
            async with self._measuring:
                seconds = known_seconds((await self._checked(row)).duration_seconds)
        except ObjectMissing:
            await self._missing(row)
            return None
        except MEASURING_FAILED as exc:
            left(row, f"measuring it failed: {reason(exc)}", LEFT)
            return None
        if seconds is None:
            left(row, "its object says no length either", LEFT)
        return seconds

    def _copyable(self, row: Row, left: _Report) -> bool:
        limit = self._settings.max_upload_bytes
        if row["size_bytes"] <= limit:
            return True
        what = (
            f"not measured: its object is {row['size_bytes']:,} bytes, over "
            f"EDITROOM_MAX_UPLOAD_BYTES ({limit:,}), which an upload's check takes at most"
        )
        left(row, what, LEFT)
        return False

    async def _record(self, row: Row, seconds: float) -> bool:
        """Records the measured length in place of the one read with the row; False when the
        media was deleted or its length changed meanwhile."""
        recorded = await self._database.fetch_one(
            "record_measured_duration",
            id=row["id"], duration_seconds=seconds, replacing=row["duration_seconds"],
        )  # fmt: skip
        if recorded is None or not recorded["recorded"]:
            return False
        self.report.lengths_recorded += 1
        return True

    def _unknown_length(self, row: Row, what: str, outcome: str) -> None:
        self._length(UNKNOWN_LENGTH, row, f"its row says it lasts 0 s (unknown); {what}", outcome)

    def _wrong_length(self, row: Row, what: str, outcome: str) -> None:
        detail = f"its row says it lasts {row['duration_seconds']:g} s; {what}"
        self._length(WRONG_LENGTH, row, detail, outcome)

    def _unmeasured(self, row: Row, what: str, outcome: str) -> None:
        detail = f"its row says it lasts {row['duration_seconds']:g} s; {what}"
        self._length(UNMEASURED, row, detail, outcome)

    def _length(self, problem: str, row: Row, detail: str, outcome: str) -> None:
        key, media_id = row["storage_key"], row["id"]
        self._found(problem, key, media_id=media_id, detail=detail, outcome=outcome)

    async def _checked(self, row: Row) -> MediaFacts:
        """The object's facts, checked as an upload's file is (MediaLibrary.check), from a copy
        where uploads land while checked, named as theirs are: if fsck is killed, `editroom
        cleanup` removes it as it does a killed upload's."""
        if self._library is None:
            sandbox = Sandbox.from_settings(self._settings)
            self._library = MediaLibrary(
                database=self._database, storage=self._storage, sandbox=sandbox,
                settings=self._settings,
            )  # fmt: skip
        path = await asyncio.to_thread(_temporary_upload, self._settings.uploads_dir)
        try:
            await self._storage.get_file(row["storage_key"], path)
            return await self._library.check(path, row["size_bytes"])
        finally:
            await asyncio.to_thread(path.unlink, missing_ok=True)


def _temporary_upload(uploads: Path) -> Path:
    """A new empty file among the uploads' temporary files, named as theirs are."""
    uploads.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=uploads)
    os.close(handle)
    return Path(name)


def _measurable(row: Row) -> bool:
    """A video, which an upload's check can measure. Not sound alone (audio=extract's, measured
    by the runner as it made it): the check refuses a file without a picture."""
    return (
        row["kind"] == MediaKind.VIDEO and has_picture(row)
        and row["duration_seconds"] is not None
    )  # fmt: skip
