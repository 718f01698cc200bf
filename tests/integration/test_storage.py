"""One contract, two backends: a local directory and S3 over real HTTP (moto's server)."""

import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import httpx2 as httpx
import pytest

from service.kernel.errors import ObjectMissing
from service.kernel.storage.base import Storage, media_key
from service.kernel.storage.local import LocalStorage
from service.kernel.storage.s3 import S3Storage, minio_client
from service.kernel.storage.sigv4 import PutPresigner
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Endpoint

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: S3Endpoint
) -> AsyncIterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "bucket")
        return
    credentials = {"access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "region": REGION}
    client = minio_client(s3_endpoint.url, **credentials)
    presigner = PutPresigner(s3_endpoint.url, **credentials)
    s3 = S3Storage(client, f"test-{secrets.token_hex(6)}", presigner=presigner)
    await s3.ensure_bucket()
    await s3.ensure_bucket()  # idempotent
    yield s3


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[bytes], Path]:
    def make(content: bytes) -> Path:
        path = tmp_path / secrets.token_hex(4)
        path.write_bytes(content)
        return path

    return make


async def read_all(storage: Storage, key: str, **span: int) -> bytes:
    return b"".join([chunk async for chunk in storage.read(key, **span)])


KEY = media_key("ab" + "0" * 62)


async def test_a_file_goes_in_and_comes_back(
    storage: Storage, make_file: Callable[[bytes], Path], tmp_path: Path
) -> None:
    content = secrets.token_bytes(3 * 1024 * 1024 + 17)
    await storage.put_file(KEY, make_file(content), content_type="image/png")
    target = tmp_path / "back"
    await storage.get_file(KEY, target)
    assert target.read_bytes() == content
    assert await read_all(storage, KEY) == content
    info = await storage.stat(KEY)
    assert info is not None
    assert info.size_bytes == len(content)


async def test_ranges_read_exactly_the_bytes_asked_for(
    storage: Storage, make_file: Callable[[bytes], Path]
) -> None:
    content = bytes(range(256)) * 8192  # 2 MiB, more than one chunk
    await storage.put_file(KEY, make_file(content), content_type="video/mp4")
    assert await read_all(storage, KEY, start=10, end=19) == content[10:20]
    assert await read_all(storage, KEY, start=len(content) - 5) == content[-5:]
    assert await read_all(storage, KEY, start=1000, end=1_500_000) == content[1000:1_500_001]


async def test_missing_objects(storage: Storage, tmp_path: Path) -> None:
    assert await storage.stat(KEY) is None
    with pytest.raises(ObjectMissing):
        await read_all(storage, KEY)
    with pytest.raises(ObjectMissing):
        await storage.get_file(KEY, tmp_path / "nothing")
    await storage.delete(KEY)  # deleting nothing is fine


async def test_delete_and_list(storage: Storage, make_file: Callable[[bytes], Path]) -> None:
    keys = [media_key(f"{i:02x}" + "1" * 62) for i in range(3)]
    for key in keys:
        await storage.put_file(key, make_file(b"x"), content_type="image/png")
    await storage.put_file("pending/abc", make_file(b"y"), content_type="image/png")
    assert sorted([o.key async for o in storage.list("media")]) == sorted(keys)
    await storage.delete(keys[0])
    assert sorted([o.key async for o in storage.list("media")]) == sorted(keys[1:])
    assert [o.key async for o in storage.list("pending")] == ["pending/abc"]


async def test_replacing_an_object(storage: Storage, make_file: Callable[[bytes], Path]) -> None:
    await storage.put_file(KEY, make_file(b"first"), content_type="image/png")
    await storage.put_file(KEY, make_file(b"second"), content_type="image/png")
    assert await read_all(storage, KEY) == b"second"


async def test_keys_editroom_does_not_make_are_refused(storage: Storage, tmp_path: Path) -> None:
    for bad in ("../etc/passwd", "media/../../x", "/abs", "media/a b", ""):
        with pytest.raises(ValueError, match="not a storage key"):
            await storage.stat(bad)


async def test_presigned_put(storage: Storage) -> None:
    content = b"presigned bytes"
    url = await storage.presigned_put_url(
        "pending/upload-1", expires=timedelta(minutes=5), size_bytes=len(content)
    )
    if isinstance(storage, LocalStorage):
        assert url is None  # the service signs its own URLs for local storage
        return
    assert url is not None
    response = httpx.put(url, content=content)
    assert response.status_code == 200, response.text
    assert await read_all(storage, "pending/upload-1") == content


async def test_a_local_file_on_the_same_disk_is_linked_without_a_thread(
    tmp_path: Path, make_file: Callable[[bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit's result is stored by a hard link made at once, not in a thread (a trip there
    and back cost about a millisecond on a busy machine, on every edit's way to its
    completion); the object is whole from the start."""
    storage = LocalStorage(tmp_path / "bucket")
    await storage.put_file(media_key("ab" + "1" * 62), make_file(b"a"), content_type="image/png")

    async def no_thread(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("stored in a thread")

    source = make_file(b"result")
    with monkeypatch.context() as patched:
        patched.setattr("asyncio.to_thread", no_thread)
        await storage.put_file(KEY, source, content_type="image/png")  # its folder is there
    assert await read_all(storage, KEY) == b"result"
    assert storage.path(KEY).stat().st_ino == source.stat().st_ino
