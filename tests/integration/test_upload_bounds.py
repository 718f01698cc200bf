"""Upload bodies are bounded in time and in number, under the API's own uvicorn server on a
real socket: a client that sends its headers and then a byte now and then must neither hold a
temporary file for ever nor keep others from uploading without end.

- EDITROOM_MAX_CONCURRENT_UPLOADS: past it, a 503 with Retry-After, before a file is opened;
- EDITROOM_UPLOAD_IDLE_SECONDS: no byte for that long, a 408 and the temporary file removed;
- EDITROOM_UPLOAD_MIN_BYTES_PER_SECOND: a body trickling slower, the same.
The local bucket's presigned PUT is held to the same bounds as POST /bucket/upload."""

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from service.kernel.settings import Settings
from tests.api import quick_settings
from tests.media import image_bytes
from tests.served import Served, served

DECLARED_BYTES = 4_000_000  # far more than is ever sent
WAIT_SECONDS = 10.0


def settings_for(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    return quick_settings(database_url, tmp_path, **overrides)


def left_behind(settings: Settings) -> list[Path]:
    """Files in the local bucket and the uploads directory."""
    roots = [settings.bucket_dir, settings.uploads_dir]
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def temporary_files(settings: Settings) -> list[Path]:
    root = settings.uploads_dir
    return list(root.glob("upload-*")) if root.exists() else []


@contextmanager
def stalled_body(
    running: Served, *, method: str = "POST", target: str = "/bucket/upload"
) -> Iterator[socket.socket]:
    """A request that declares DECLARED_BYTES, sends one, and then nothing."""
    with socket.create_connection(("127.0.0.1", running.port), timeout=WAIT_SECONDS) as sock:
        head = (
            f"{method} {target} HTTP/1.1\r\nHost: {running.host}\r\n"
            f"Content-Type: application/octet-stream\r\nContent-Length: {DECLARED_BYTES}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"\x89")
        yield sock


def answer(sock: socket.socket) -> bytes:
    """What the server answers, up to its closing the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def wait_for(condition: Any, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def client(running: Served) -> httpx.Client:
    return httpx.Client(base_url=running.url, headers={"Host": running.host}, timeout=WAIT_SECONDS)


def presigned_put_target(api: httpx.Client, size: int) -> str:
    ticket = api.post("/bucket/upload/presign", params={"size": size})
    assert ticket.status_code == 201, ticket.text
    url: str = ticket.json()["upload_url"]
    return url[url.index("/bucket/") :]


def test_uploads_past_the_limit_are_refused_before_a_file_is_opened(
    database_url: str, tmp_path: Path
) -> None:
    settings = settings_for(
        database_url, tmp_path, max_concurrent_uploads=2, upload_idle_seconds=30.0,
        upload_min_bytes_per_second=0,
    )  # fmt: skip
    with served(settings) as running, client(running) as api:
        target = presigned_put_target(api, DECLARED_BYTES)
        with stalled_body(running), stalled_body(running, method="PUT", target=target):
            wait_for(lambda: len(temporary_files(settings)) == 2)
            refused = api.post("/bucket/upload", content=image_bytes("PNG"))
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] == "5"
            assert "EDITROOM_MAX_CONCURRENT_UPLOADS" in refused.json()["detail"]
            assert "2 uploads" in refused.json()["detail"]
            assert len(temporary_files(settings)) == 2  # none opened for the refused one
        wait_for(lambda: left_behind(settings) == [])  # the clients went away: files removed
        accepted = api.post("/bucket/upload", content=image_bytes("PNG"))
        assert accepted.status_code == 201, accepted.text  # the slots were given back


@pytest.mark.parametrize("presigned", [False, True], ids=["post", "presigned-put"])
def test_a_body_that_stops_is_dropped_and_its_file_removed(
    database_url: str, tmp_path: Path, presigned: bool
) -> None:
    settings = settings_for(
        database_url, tmp_path, upload_idle_seconds=1.0, upload_min_bytes_per_second=0
    )
    with served(settings) as running, client(running) as api:
        target = presigned_put_target(api, DECLARED_BYTES) if presigned else "/bucket/upload"
        started = time.monotonic()
        with stalled_body(running, method="PUT" if presigned else "POST", target=target) as sock:
            wait_for(lambda: len(temporary_files(settings)) == 1)
            response = answer(sock)  # the server closes the connection after it
        assert time.monotonic() - started < 5.0
        status_line, _, rest = response.partition(b"\r\n")
        assert status_line == b"HTTP/1.1 408 Request Timeout", response
        assert b"connection: close" in rest.lower()
        assert b"no byte of the upload arrived for 1 s (EDITROOM_UPLOAD_IDLE_SECONDS)" in rest
        assert left_behind(settings) == []
        accepted = api.post("/bucket/upload", content=image_bytes("PNG"))
        assert accepted.status_code == 201, accepted.text


def test_a_body_that_trickles_is_dropped(database_url: str, tmp_path: Path) -> None:
    settings = settings_for(
        database_url, tmp_path, upload_idle_seconds=1.0, upload_min_bytes_per_second=1000
    )
    with served(settings) as running, stalled_body(running) as sock:
        sock.settimeout(0.2)
        response = b""
        deadline = time.monotonic() + WAIT_SECONDS
        while not response and time.monotonic() < deadline:
            try:
                sock.sendall(b"\x00")  # a byte every 0.2 s: never idle, always too slow
                response = sock.recv(65536)
            except TimeoutError:
                continue
        assert response.startswith(b"HTTP/1.1 408 "), response
        assert b"EDITROOM_UPLOAD_MIN_BYTES_PER_SECOND" in response
        wait_for(lambda: left_behind(settings) == [])


def test_a_json_body_that_stalls_is_dropped_naming_the_setting(
    database_url: str, tmp_path: Path
) -> None:
    """Only uploads were paced: a JSON body that stopped held its connection for ever."""
    settings = settings_for(database_url, tmp_path, upload_idle_seconds=1.0)
    with (
        served(settings) as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=WAIT_SECONDS) as sock,
    ):
        head = (
            f"POST /workflows HTTP/1.1\r\nHost: {running.host}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"{")
        response = answer(sock)
    assert response.startswith(b"HTTP/1.1 408 "), response
    assert b'"error": "UploadStalled"' in response
    assert b"no byte of the request body arrived for 1 s (EDITROOM_UPLOAD_IDLE_SECONDS)" in response
