"""The media library: received files become media (probed in a sandbox, deduplicated by
SHA-256, stored under their content's key), and media are found, listed and deleted.
Uploads and presigned uploads come in through `ingest`; edit outputs through `store_result`,
their rows added with their edit's completion (runner/process/completer.py)."""

import asyncio
import dataclasses
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from math import ceil
from pathlib import Path
from typing import Any
from uuid import UUID

from runner.engine.checks import check_file
from runner.engine.probe import ACCEPTED, MediaFacts
from runner.engine.sandbox import Sandbox
from service.domain.cursors import Page, keyset_page
from service.kernel.db import Database, Row
from service.kernel.errors import (
    ChecksBusy,
    HeldBySession,
    InvalidMedia,
    InvalidParameter,
    NotFound,
    SandboxCrashed,
    SandboxInternalError,
    SandboxIOError,
    SandboxOutOfMemory,
    SandboxTimeout,
)
from service.kernel.receive import ReceivedFile
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage, media_key

log = logging.getLogger(__name__)

PROBE_SECONDS_PER_GIB = 10.0
# What GET /bucket/upload's `id` takes: its answer is one page, of those that exist.
IDS_ACCEPTED = (
    "media ids (UUIDs), id=A&id=B..., no more than limit (50 by default, up to 500); "
    "for more, a larger limit or several requests"
)


@dataclass(frozen=True, slots=True)
class Ingested:
    media: Row
    created: bool  # a new media row
    duplicate: bool  # the same bytes were already in the library


@dataclass(frozen=True, slots=True)
class NewMedia:
    """An edit's result, stored, whose media row is still to be added: with its edit's
    completion, in the same statement (runner/process/completer.py)."""

    columns: dict[str, Any]  # add_media's parameters, as JSON types


@dataclass(frozen=True, slots=True)
class Prepared:
    facts: MediaFacts
    storage_key: str
    known: Row | None  # the media these bytes already are


class MediaLibrary:
    def __init__(
        self, *, database: Database, storage: Storage, sandbox: Sandbox, settings: Settings
    ) -> None:
        self.database = database
        self.storage = storage
        self.sandbox = sandbox
        self._settings = settings
        self._check_slots = asyncio.Semaphore(settings.check_concurrency)

    @asynccontextmanager
    async def _check_slot(self) -> AsyncIterator[None]:
        """One of EDITROOM_CHECK_CONCURRENCY slots, waited for at most
        EDITROOM_CHECK_WAIT_SECONDS: checks are CPU work in children, and a burst of uploads
        must not start a child each."""
        wait = self._settings.check_wait_seconds
        try:
            async with asyncio.timeout(wait):
                await self._check_slots.acquire()
        except TimeoutError:
            raise ChecksBusy(
                f"all {self._settings.check_concurrency} upload checks "
                f"(EDITROOM_CHECK_CONCURRENCY) stayed busy for {wait:g} s "
                "(EDITROOM_CHECK_WAIT_SECONDS); try again shortly",
                retry_after_seconds=max(1, ceil(wait)),
            ) from None
        try:
            yield
        finally:
            self._check_slots.release()

    async def check(self, path: Path, size_bytes: int) -> MediaFacts:
        """What the file is (415/422 when it is nothing editroom takes), from a sandbox. A
        check that runs out of time or dies (a decoder's crash, the memory limit, an exception
        of ours these bytes set off) is the file's doing too: hostile bytes can do all of that.
        Only our own I/O trouble (SandboxIOError, 503) is not."""
        timeout = (
            self._settings.probe_timeout_seconds + PROBE_SECONDS_PER_GIB * size_bytes / 1024**3
        )
        try:
            async with self._check_slot():
                return await self.sandbox.run(
                    check_file,
                    str(path),
                    self._settings.max_pixels,
                    self._settings.max_video_seconds,
                    self._settings.max_frame_pixels,
                    timeout_seconds=timeout,
                )
        except SandboxTimeout:
            raise InvalidMedia(
                f"checking the file took longer than {timeout:.3g} s, its limit "
                f"(EDITROOM_PROBE_TIMEOUT_SECONDS, {self._settings.probe_timeout_seconds:g} s, "
                f"plus {PROBE_SECONDS_PER_GIB:g} s per GiB)",
                accepted=ACCEPTED,
            ) from None
        except (SandboxCrashed, SandboxOutOfMemory) as exc:
            raise InvalidMedia(
                f"checking the file failed: {exc}; the check may use "
                f"{self._settings.edit_memory_bytes:,} bytes of memory "
                f"(EDITROOM_EDIT_MEMORY_BYTES)",
                accepted=ACCEPTED,
            ) from None
        except SandboxInternalError as exc:  # a bug of ours that these bytes set off
            log.warning("probe failed unexpectedly", extra={"error": str(exc)})
            raise InvalidMedia(f"checking the file failed: {exc}", accepted=ACCEPTED) from None
        except SandboxIOError as exc:  # the disk, not the file: the same error, for a client
            raise SandboxIOError(f"checking the file failed: {exc}; try again") from None

    async def prepare(self, received: ReceivedFile, facts: MediaFacts | None = None) -> Prepared:
        """Check the file and, unless its bytes are in the library, store them under their key.

        With `facts` (an edit's output, checked where it was made) the file is stored at once:
        its key is its content's, so storing known bytes again changes nothing, and add_media
        then answers with the media they already are. That saves the look-up on the path that
        runs most often."""
        key = media_key(received.sha256)
        if facts is not None:
            await self.storage.put_file(key, received.path, content_type=facts.content_type)
            return Prepared(facts, key, known=None)
        facts = await self.check(received.path, received.size_bytes)
        known = await self.database.fetch_one("ready_media_by_sha256", sha256=received.sha256)
        if known is None:
            await self.storage.put_file(key, received.path, content_type=facts.content_type)
        return Prepared(facts, key, known)

    async def ingest(
        self,
        received: ReceivedFile,
        *,
        facts: MediaFacts | None = None,
        source_edit_id: UUID | None = None,
        source_media_id: UUID | None = None,
        source_seconds: float | None = None,
    ) -> Ingested:
        """source_seconds: for a still of a video, the second of its source it shows."""
        prepared = await self.prepare(received, facts)
        if prepared.known is not None:
            known = prepared.known
            if known["by_address"]:  # a copy an address made, now uploaded: not a copy only
                unmarked = await self.database.fetch_one("unmark_media_by_address", id=known["id"])
                known = unmarked or known
            return Ingested(known, created=False, duplicate=True)
        row = await self.database.fetch_one(
            "add_media",
            **_columns(
                prepared, received, source_edit_id=source_edit_id,
                source_media_id=source_media_id, source_seconds=source_seconds,
            ),
        )  # fmt: skip
        assert row is not None
        created = bool(row.pop("created"))
        return Ingested(row, created=created, duplicate=not created)

    async def store_result(
        self,
        received: ReceivedFile,
        *,
        facts: MediaFacts,
        source_edit_id: UUID,
        source_media_id: UUID | None,
        source_seconds: float | None = None,
    ) -> NewMedia:
        """An edit's result (`facts`: checked where it was made) stored; its media row is
        added with the edit's completion."""
        prepared = await self.prepare(received, facts)
        columns = _columns(
            prepared, received, source_edit_id=source_edit_id,
            source_media_id=source_media_id, source_seconds=source_seconds,
        )  # fmt: skip
        return NewMedia({name: _json(value) for name, value in columns.items()})

    async def get(self, media_id: UUID) -> Row:
        row = await self.database.fetch_one("media_by_id", id=media_id)
        if row is None or row["status"] != "ready":
            raise NotFound(f"media {media_id} does not exist")
        return row

    async def read(
        self, media: Row, *, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The media's bytes from start up to and including end, in chunks. The store is
        opened and the first chunk read before this returns: a store that fails now raises
        here (StorageError: a 503 before any header is sent), not in the middle of a body."""
        chunks = self.storage.read(media["storage_key"], start=start, end=end)
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            first = b""
        return _after(first, chunks)

    async def page(
        self,
        *,
        kind: str | None,
        origin: str | None,
        by_address: bool | None = None,
        since: datetime | None,
        before: datetime | None,
        limit: int,
        cursor: str | None,
        ids: Sequence[UUID] | None = None,
    ) -> Page:
        """Ready media, newest upload first; every filter optional (origin: upload, the
        originals, uploaded or imported; or edit, the outputs; by_address: the copies result
        addresses made only, or everything else; ids: those of these ids that exist, no more
        than `limit` of them, so that they fit one page)."""
        if ids is not None:
            ids = list(dict.fromkeys(ids))  # an id named twice is one media of the page
        if ids is not None and len(ids) > limit:
            raise InvalidParameter(
                "id", f"{len(ids)} ids", f"more than a page holds (limit={limit})",
                accepted=IDS_ACCEPTED,
            )  # fmt: skip
        query, by_id = ("list_media", {}) if ids is None else ("list_media_by_ids", {"ids": ids})
        return await keyset_page(
            self.database, query, limit=limit, cursor=cursor, time_column="uploaded_at",
            kind=kind, origin=origin, by_address=by_address, since=since, before=before, **by_id,
        )  # fmt: skip

    async def delete(self, media_id: UUID) -> None:
        try:
            row = await self.database.fetch_one("delete_media", id=media_id)
        except HeldBySession as refused:
            raise await self._held_by(media_id, refused) from refused
        assert row is not None
        # The row is gone; should deleting the object fail, the clean-up removes the orphan.
        # The same bytes uploaded again meanwhile are a new row with the same key: kept.
        key = row["storage_key"]
        if await self.database.fetch_all("unreferenced_storage_keys", keys=[key]):
            await self.storage.delete(key)

    async def _held_by(self, media_id: UUID, refused: HeldBySession) -> HeldBySession:
        """The refusal with the session that holds the media named as fields (its words stay
        PostgreSQL's); as it was, should that session have gone since."""
        holder = await self.database.fetch_one("session_holding_media", id=media_id)
        return HeldBySession(str(refused), **holder) if holder else refused


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    if first:
        yield first
    async for chunk in rest:
        yield chunk


def described(prepared: Prepared, received: ReceivedFile) -> dict[str, Any]:
    """The columns of a media row: what probing found, and what receiving measured."""
    return {
        **dataclasses.asdict(prepared.facts),
        "kind": prepared.facts.kind.value,
        "size_bytes": received.size_bytes,
        "sha256": received.sha256,
        "storage_key": prepared.storage_key,
    }


def _columns(
    prepared: Prepared,
    received: ReceivedFile,
    *,
    source_edit_id: UUID | None,
    source_media_id: UUID | None,
    source_seconds: float | None,
) -> dict[str, Any]:
    """add_media's parameters."""
    return {
        **described(prepared, received),
        "original_name": clean_filename(received.filename),
        "source_edit_id": source_edit_id,
        "source_media_id": source_media_id,
        "source_seconds": source_seconds,
    }


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


MAX_FILENAME_CHARS = 255


def clean_filename(name: str | None) -> str | None:
    """A client's file name is data: keep its last path component, drop control characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(ch for ch in base if ch.isprintable()).strip()
    return printable[:MAX_FILENAME_CHARS] or None
