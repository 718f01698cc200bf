"""Presigned uploads: a pending media row, a URL for the bytes, then completion, which checks
the bytes exactly as a direct upload would (size, SHA-256, probe, dedup). An object larger
than its declared size or EDITROOM_MAX_UPLOAD_BYTES is refused (413) from its size alone,
and deleted, never downloaded."""

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from service.domain.library import Ingested, MediaLibrary, clean_filename, described
from service.kernel.db import Row
from service.kernel.errors import (
    Conflict,
    EditroomError,
    InvalidMedia,
    NotFound,
    ObjectMissing,
    TooLarge,
    TooManyPending,
    UnsupportedMedia,
)
from service.kernel.receive import ReceivedFile, receive
from service.kernel.settings import Settings
from service.kernel.signing import sign
from service.kernel.storage.base import pending_key

# A completed upload frees a place at any time; the first expiry may be an hour away.
RETRY_AFTER_CAP_SECONDS = 60


class PresignedUploads:
    def __init__(self, *, library: MediaLibrary, settings: Settings) -> None:
        self.library = library
        self._settings = settings

    async def start(self, *, filename: str | None, size_bytes: int) -> Row:
        await self._admit()
        row = await self.library.database.fetch_one(
            "create_pending_media",
            original_name=clean_filename(filename),
            expected_size_bytes=size_bytes,
            expires_in=timedelta(seconds=self._settings.presign_expiry_seconds),
        )
        assert row is not None
        return row

    async def _admit(self) -> None:
        """Refuse a presign past EDITROOM_MAX_PENDING_UPLOADS open ones. Counted, then made:
        presigns racing each other may pass it by a few, never without bound."""
        open_ = await self.library.database.fetch_one("pending_uploads")
        assert open_ is not None
        limit = self._settings.max_pending_uploads
        if open_["pending"] < limit:
            return
        until = (open_["first_expiry"] - datetime.now(UTC)).total_seconds()
        wait = min(max(math.ceil(until), 1), RETRY_AFTER_CAP_SECONDS)
        raise TooManyPending(
            f"{open_['pending']:,} presigned uploads are open, the most this server accepts "
            f"(EDITROOM_MAX_PENDING_UPLOADS: {limit:,}); complete them, or try again in {wait} s",
            retry_after_seconds=wait,
        )

    async def storage_url(self, pending: Row) -> str | None:
        expires = pending["expires_at"] - datetime.now(UTC)
        return await self.library.storage.presigned_put_url(
            pending_key(str(pending["id"])),
            expires=expires,
            size_bytes=int(pending["expected_size_bytes"]),
        )

    def signed_service_url(self, target: str, pending: Row, key: bytes) -> str:
        expires_at = int(pending["expires_at"].timestamp())
        signature = sign(key, str(pending["id"]), expires_at)
        return f"{target}?expires={expires_at}&signature={signature}"

    async def pending(self, media_id: UUID) -> Row:
        """The pending upload, still open for its bytes."""
        row = await self.library.database.fetch_one("media_by_id", id=media_id)
        if row is None:
            raise NotFound(f"upload {media_id} does not exist")
        if row["status"] != "pending":
            raise Conflict(f"upload {media_id} is already complete")
        if row["expires_at"] < datetime.now(UTC):
            raise Conflict(f"upload {media_id} expired at {row['expires_at']}; ask for a new URL")
        return row

    async def store(self, media_id: UUID, path: Path) -> None:
        """The bytes of a pending upload, PUT to this service (the local bucket's presigned
        upload target)."""
        await self.library.storage.put_file(
            pending_key(str(media_id)), path, content_type="application/octet-stream"
        )

    async def complete(self, media_id: UUID) -> Ingested:
        row = await self.library.database.fetch_one("media_by_id", id=media_id)
        if row is not None and row["status"] == "ready":
            return Ingested(row, created=False, duplicate=False)
        pending = await self.pending(media_id)
        try:
            received = await self._fetch(pending)
        except TooLarge:
            await self.library.storage.delete(pending["storage_key"])  # never read in full
            raise
        try:
            return await self._verify_and_record(pending, received)
        finally:
            received.path.unlink(missing_ok=True)

    async def _fetch(self, pending: Row) -> ReceivedFile:
        """The uploaded object as a local file, hashed on the way. Its size is checked before a
        byte is read, and the read stops past the limit all the same: the object may be
        replaced meanwhile (a presigned S3 URL stays usable until it expires)."""
        key, limit = pending["storage_key"], self._limit(pending)
        stored = await self.library.storage.stat(key)
        if stored is None:
            raise self._not_uploaded(pending)
        self._check_size(pending, f"{stored.size_bytes:,}", stored.size_bytes)
        try:
            received = await receive(
                self.library.storage.read(key, end=limit),
                content_type="application/octet-stream",
                directory=self._settings.uploads_dir,
                max_bytes=limit,
                filename=pending["original_name"],
            )
        except ObjectMissing:
            raise self._not_uploaded(pending) from None
        except TooLarge:
            raise self._too_large(pending, f"more than {limit:,}") from None
        try:
            self._check_size(pending, f"{received.size_bytes:,}", received.size_bytes)
        except EditroomError:
            received.path.unlink(missing_ok=True)
            raise
        return received

    def _limit(self, pending: Row) -> int:
        return min(int(pending["expected_size_bytes"]), self._settings.max_upload_bytes)

    def put_limit(self, pending: Row) -> tuple[int, str]:
        """The most a PUT of this upload may send, and what sets it, for its 413."""
        if pending["expected_size_bytes"] < self._settings.max_upload_bytes:
            return int(pending["expected_size_bytes"]), "the size declared when it was presigned"
        return self._settings.max_upload_bytes, "EDITROOM_MAX_UPLOAD_BYTES"

    def _check_size(self, pending: Row, size_text: str, size: int) -> None:
        if size > self._limit(pending):
            raise self._too_large(pending, size_text)
        if size != pending["expected_size_bytes"]:
            raise InvalidMedia(
                f"{size_text} bytes arrived; the presigned upload was for "
                f"{pending['expected_size_bytes']:,}: PUT the whole file again"
            )

    def _too_large(self, pending: Row, size_text: str) -> TooLarge:
        return TooLarge(
            f"{size_text} bytes were uploaded; this upload takes at most "
            f"{self._limit(pending):,} bytes, the smaller of its declared size "
            f"({pending['expected_size_bytes']:,}) and EDITROOM_MAX_UPLOAD_BYTES "
            f"({self._settings.max_upload_bytes:,}). The object was deleted: PUT the file again"
        )

    def _not_uploaded(self, pending: Row) -> Conflict:
        return Conflict(
            f"nothing was uploaded for {pending['id']} yet: PUT the file to its upload_url"
        )

    async def _verify_and_record(self, pending: Row, received: ReceivedFile) -> Ingested:
        try:
            prepared = await self.library.prepare(received)
        except (UnsupportedMedia, InvalidMedia):
            await self._discard(pending)  # bad bytes leave nothing behind
            raise
        row = await self.library.database.fetch_one(
            "complete_pending_media",
            id=pending["id"],
            **described(prepared, received),
        )
        assert row is not None
        await self.library.storage.delete(pending["storage_key"])
        created = bool(row.pop("created"))
        return Ingested(row, created=created, duplicate=not created)

    async def _discard(self, pending: Row) -> None:
        await self.library.database.fetch_one("delete_media", id=pending["id"])
        await self.library.storage.delete(pending["storage_key"])
