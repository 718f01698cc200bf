"""The storage protocol. Keys are made by editroom (`media/ab/<sha256>`, `pending/<id>`), never
taken from a client, so a file name can never become a path."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

CHUNK_BYTES = 1024 * 1024
_KEY = re.compile(r"^[a-z]+(/[0-9a-z-]+)+$")


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    size_bytes: int
    modified_at: datetime


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a storage key editroom makes: {key!r}")
    return key


def media_key(sha256: str) -> str:
    """Content-addressed: the same bytes always land on the same key."""
    return check_key(f"media/{sha256[:2]}/{sha256}")


def pending_key(media_id: str) -> str:
    return check_key(f"pending/{media_id}")


class Storage(Protocol):
    async def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        """Store a local file's bytes under key (replacing any object there)."""

    async def get_file(self, key: str, target: Path) -> None:
        """Copy the object into a local file."""

    def read(self, key: str, *, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The object's bytes from start up to and including end, in chunks."""

    async def stat(self, key: str) -> StoredObject | None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""

    def list(self, prefix: str) -> AsyncIterator[StoredObject]: ...

    def local_path(self, key: str) -> Path | None:
        """The object as a local file to read in place, when the backend has one."""

    async def presigned_put_url(
        self, key: str, *, expires: timedelta, size_bytes: int
    ) -> str | None:
        """A URL a client can PUT exactly `size_bytes` bytes to, or None when the backend has
        no such thing (the service then signs a URL of its own)."""
