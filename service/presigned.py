"""Presigned uploads: a pending media row, a URL for the bytes, then completion, which checks
the bytes exactly as a direct upload would (size, SHA-256, probe, dedup)."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from service.db import Row
from service.errors import Conflict, InvalidMedia, NotFound, UnsupportedMedia
from service.library import Ingested, MediaLibrary, clean_filename, described
from service.receive import ReceivedFile, sha256_of
from service.settings import Settings
from service.signing import sign
from service.storage.base import ObjectMissing, pending_key


class PresignedUploads:
    def __init__(self, *, library: MediaLibrary, settings: Settings) -> None:
        self.library = library
        self._settings = settings

    async def start(self, *, filename: str | None, size_bytes: int) -> Row:
        row = await self.library.database.fetch_one(
            "create_pending_media",
            original_name=clean_filename(filename),
            expected_size_bytes=size_bytes,
            expires_in=timedelta(seconds=self._settings.presign_expiry_seconds),
        )
        assert row is not None
        return row

    async def storage_url(self, pending: Row) -> str | None:
        expires = pending["expires_at"] - datetime.now(UTC)
        return await self.library.storage.presigned_put_url(
            pending_key(str(pending["id"])), expires=expires
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

    async def complete(self, media_id: UUID) -> Ingested:
        row = await self.library.database.fetch_one("media_by_id", id=media_id)
        if row is not None and row["status"] == "ready":
            return Ingested(row, created=False, duplicate=False)
        pending = await self.pending(media_id)
        received = await self._fetch(pending)
        try:
            return await self._verify_and_record(pending, received)
        finally:
            received.path.unlink(missing_ok=True)

    async def _fetch(self, pending: Row) -> ReceivedFile:
        path = self._settings.uploads_dir / f"upload-{uuid4()}"
        self._settings.uploads_dir.mkdir(parents=True, exist_ok=True)
        try:
            await self.library.storage.get_file(pending["storage_key"], path)
        except ObjectMissing:
            raise Conflict(
                f"nothing was uploaded for {pending['id']} yet: PUT the file to its upload_url"
            ) from None
        size = path.stat().st_size
        if size != pending["expected_size_bytes"]:
            path.unlink(missing_ok=True)
            raise InvalidMedia(
                f"{size:,} bytes arrived; the presigned upload was for "
                f"{pending['expected_size_bytes']:,}: PUT the whole file again"
            )
        sha256 = await asyncio.to_thread(sha256_of, path)
        return ReceivedFile(path, size, sha256, pending["original_name"])

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
