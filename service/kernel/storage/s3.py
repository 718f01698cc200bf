"""Storage in an S3 bucket (MinIO in compose) through the minio SDK. The SDK is synchronous,
so every call runs in a thread; large files go up and down in multipart transfers."""

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import S3Error

from service.kernel.errors import ObjectMissing, StorageError, reason
from service.kernel.storage.base import CHUNK_BYTES, StoredObject, check_key
from service.kernel.storage.sigv4 import PutPresigner

T = TypeVar("T")
MULTIPART_PART_BYTES = 16 * 1024 * 1024
_MISSING_CODES = {"NoSuchKey", "NoSuchObject"}


def minio_client(endpoint_url: str, *, access_key: str, secret_key: str, region: str) -> Minio:
    """A client for `http(s)://host:port`; the region is given so presigning needs no call."""
    parts = urlsplit(endpoint_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"S3 endpoint must be http(s)://host[:port], got {endpoint_url!r}")
    return Minio(
        parts.netloc,
        access_key=access_key,
        secret_key=secret_key,
        secure=parts.scheme == "https",
        region=region,
    )


class S3Storage:
    def __init__(self, client: Minio, bucket: str, *, presigner: PutPresigner) -> None:
        self._client = client
        self._presigner = presigner
        self.bucket = bucket

    async def ensure_bucket(self) -> None:
        if not await self._call(self._client.bucket_exists, self.bucket):
            try:
                await self._call(self._client.make_bucket, self.bucket)
            except StorageError:
                if not await self._call(self._client.bucket_exists, self.bucket):
                    raise  # not a race with another process making it

    async def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        await self._call(
            self._client.fput_object, self.bucket, check_key(key), str(source),
            content_type=content_type, part_size=MULTIPART_PART_BYTES,
        )  # fmt: skip

    async def get_file(self, key: str, target: Path) -> None:
        await self._call(self._client.fget_object, self.bucket, check_key(key), str(target))

    async def read(
        self, key: str, *, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        length = 0 if end is None else end - start + 1
        response = await self._call(
            self._client.get_object, self.bucket, check_key(key), offset=start, length=length
        )
        try:
            while chunk := await self._call(response.read, CHUNK_BYTES):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> StoredObject | None:
        try:
            info = await self._call(self._client.stat_object, self.bucket, check_key(key))
        except ObjectMissing:
            return None
        assert info.size is not None
        assert info.last_modified is not None
        return StoredObject(key, info.size, info.last_modified)

    async def delete(self, key: str) -> None:
        await self._call(self._client.remove_object, self.bucket, check_key(key))

    async def list(self, prefix: str) -> AsyncIterator[StoredObject]:
        listing: Iterator[Any] = iter(
            self._client.list_objects(self.bucket, prefix=f"{prefix}/", recursive=True)
        )
        while (item := await self._call(next, listing, None)) is not None:
            yield StoredObject(item.object_name, item.size, item.last_modified)

    def local_path(self, key: str) -> Path | None:
        return None

    async def presigned_put_url(
        self, key: str, *, expires: timedelta, size_bytes: int
    ) -> str | None:
        """Signs Content-Length: S3 itself refuses a body of any other size."""
        return self._presigner.put_url(
            self.bucket, check_key(key), size_bytes=size_bytes, expires=expires
        )

    async def _call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.to_thread(partial(function, *args, **kwargs))
        except S3Error as exc:
            if exc.code in _MISSING_CODES:
                raise ObjectMissing(f"no stored object ({exc.code})") from exc
            raise StorageError(f"S3 refused the request: {exc.code}: {exc.message}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"S3 could not be reached: {reason(exc)}") from exc
