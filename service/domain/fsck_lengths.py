"""`editroom fsck`'s measures of videos' lengths (docs/decisions.md, "editroom fsck" and
"fsck --remeasure-videos"), from their objects, checked as an upload is, in the uploads'
sandbox: a fact of the same bytes.

- A video whose row says it lasts 0 s (uploads from before the probe read a header's 0 as no
  length; edits take it as of unknown length) is measured and its length recorded: that only
  fills in one the row never had.
- With `remeasure`, every other video is measured so too, and where its object lasts more
  than LENGTH_TOLERANCE_SECONDS longer or shorter than its row says, the measured length
  replaces the recorded one (rows uploaded before a video lasted as long as its longest stream
  recorded its picture's). A dry run measures too (only a measure tells), and records nothing.

One video is measured at a time: each copies its object into the uploads folder first, and
fsck's checks must not wait for each other. An object larger than EDITROOM_MAX_UPLOAD_BYTES is
not copied (an upload that large is refused too).
"""

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from runner.engine.ops.base import MediaKind, known_seconds
from runner.engine.probe import MediaFacts
from runner.engine.sandbox import Sandbox
from service.domain.fsck_report import (
    LEFT,
    REPAIRED,
    UNKNOWN_LENGTH,
    UNMEASURED,
    WOULD_REPAIR,
    WRONG_LENGTH,
    Finding,
    FsckReport,
)
from service.domain.library import MediaLibrary
from service.domain.sound_alone import has_picture
from service.kernel.db import Database, Row
from service.kernel.errors import (
    InvalidMedia,
    ObjectMissing,
    SandboxIOError,
    StorageError,
    UnsupportedMedia,
    reason,
)
from service.kernel.receive import TEMPORARY_PREFIX
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage

# A recorded length this close to the measured one is left: less than a frame at 20 fps, where
# the same end read by other rules differs (an AAC track's padding, a last frame's length), not
# a stream the row left out. Trims past it are within the video's last frame.
LENGTH_TOLERANCE_SECONDS = 0.05
# What measuring a length may be refused for, said as the finding's detail: the file as an
# upload's check now judges it (limits may have changed since), or trouble copying the object
# (the bucket; the disk: OSError) or in the check's own I/O. Never ChecksBusy: fsck's checks are
# its own, one at a time.
MEASURING_FAILED = (InvalidMedia, UnsupportedMedia, SandboxIOError, StorageError, OSError)


# Tells of a finding about a video's length: (row, what was done or found, outcome).
_Report = Callable[[Row, str, str], None]


class VideoLengths:
    """Measures the videos fsck's row walk hands it (`check`), and records their lengths."""

    def __init__(
        self,
        database: Database,
        storage: Storage,
        settings: Settings,
        *,
        dry_run: bool,
        remeasure: bool,
        report: FsckReport,
        found: Callable[[Finding], None],
        missing: Callable[[Row], Awaitable[None]],
    ) -> None:
        self._database = database
        self._storage = storage
        self._settings = settings
        self._dry_run = dry_run
        self._remeasure = remeasure
        self._report = report
        self._found = found
        self._missing = missing  # a row whose object went while measured: fsck's to report
        self._library: MediaLibrary | None = None  # made for the first length to measure
        # One video measured at a time: one copy on disk, and its library's check slot free.
        self._measuring = asyncio.Semaphore(1)

    async def close(self) -> None:
        if self._library is not None:
            await self._library.sandbox.close()

    async def check(self, row: Row) -> None:
        """Measures a video of unknown length, or (remeasure) of any; leaves any other row."""
        if not _measurable(row):
            return
        if known_seconds(row["duration_seconds"]) is None:
            await self._measure(row)
        elif self._remeasure:
            await self._remeasure_one(row)

    async def _measure(self, row: Row) -> None:
        """A video whose row says 0 s: measured, and its length recorded."""
        if not self._copyable(row, self._unknown_length):
            return
        if self._dry_run:
            self._unknown_length(row, "it would be measured", WOULD_REPAIR)
            return
        seconds = await self._measured(row, self._unknown_length)
        if seconds is not None and await self._record(row, seconds):
            self._unknown_length(row, f"measured {seconds:g} s, and recorded", REPAIRED)

    async def _remeasure_one(self, row: Row) -> None:
        """A video of known length, measured again; the measure recorded where it differs."""
        if not self._copyable(row, self._unmeasured):
            return
        seconds = await self._measured(row, self._unmeasured)
        if seconds is None:
            return
        self._report.videos_remeasured += 1
        if abs(seconds - row["duration_seconds"]) <= LENGTH_TOLERANCE_SECONDS:
            return
        if self._dry_run:
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
            left(row, "measured, its object says no length", LEFT)
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
        self._report.lengths_recorded += 1
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
        self._found(Finding(problem, row["storage_key"], row["id"], detail, outcome))

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
