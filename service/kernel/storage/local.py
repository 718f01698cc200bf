"""Storage in a local directory: the embedded default. A reader never sees half an object: a
file on the same disk is hard-linked to its key (whole at once), anything else is written under
a temporary name and renamed into place."""

import asyncio
import itertools
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO
from uuid import uuid4

from service.kernel.errors import ObjectMissing
from service.kernel.storage.base import CHUNK_BYTES, StoredObject, check_key

PARTIAL_PREFIX = "partial"
LIST_PAGE = 1000  # objects listed per trip to a thread


def _open_and_read(path: Path, start: int, size: int) -> tuple[BinaryIO, bytes]:
    handle = path.open("rb")
    try:
        handle.seek(start)
        return handle, handle.read(size)
    except BaseException:
        handle.close()
        raise


def _linked(source: Path, target: Path) -> bool:
    try:
        os.link(source, target)
    except OSError:
        return False
    return True


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    def local_path(self, key: str) -> Path | None:
        return self.path(key)

    async def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        # A file on the same disk is linked where it goes, here: one write of a directory,
        # whole at once (tens of microseconds), where a trip to a thread and back cost about
        # a millisecond on a busy machine, on every edit's way to its completion. A key
        # already stored (replaced, as promised), a folder still to make, or another disk
        # (a copy) goes the way it always went, in a thread.
        if not _linked(source, self.path(key)):
            await asyncio.to_thread(self._put_file, key, source)

    def _put_file(self, key: str, source: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # Partial objects have keys too (partial/<id>), so the clean-up finds any a crash left.
        partial = self.path(f"{PARTIAL_PREFIX}/{uuid4()}")
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            try:
                os.link(source, partial)  # same disk: no copy
            except OSError:
                shutil.copyfile(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)

    async def get_file(self, key: str, target: Path) -> None:
        source = self.path(key)
        if not source.is_file():
            raise ObjectMissing(f"no stored object {key}")
        await asyncio.to_thread(shutil.copyfile, source, target)

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """One trip to a thread per chunk, the opening included: an object smaller than a
        chunk (an image result) is read in one."""
        path = self.path(key)
        remaining = None if end is None else end - start + 1
        size = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
        try:
            handle, chunk = await asyncio.to_thread(_open_and_read, path, start, size)
        except FileNotFoundError:
            raise ObjectMissing(f"no stored object {key}") from None
        try:
            while chunk:
                yield chunk
                if len(chunk) < size:
                    return  # a short read of a file: its end
                if remaining is not None:
                    remaining -= len(chunk)
                    if remaining <= 0:
                        return
                size = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
        finally:
            handle.close()  # opened for reading: closing it waits for no disk

    async def stat(self, key: str) -> StoredObject | None:
        try:
            info = await asyncio.to_thread(self.path(key).stat)
        except FileNotFoundError:
            return None
        return StoredObject(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    async def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        """In key order, a page at a time: a bucket of millions never sits in memory."""
        walk = self._walk(self.root / prefix)
        while page := await asyncio.to_thread(lambda: list(itertools.islice(walk, LIST_PAGE))):
            for stored in page:
                yield stored

    def _walk(self, folder: Path) -> Iterator[StoredObject]:
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path))
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # deleted since the folder was read
            key = Path(entry.path).relative_to(self.root).as_posix()
            yield StoredObject(key, info.st_size, datetime.fromtimestamp(info.st_mtime, UTC))

    async def presigned_put_url(
        self, key: str, *, expires: timedelta, size_bytes: int
    ) -> str | None:
        return None
