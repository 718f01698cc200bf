"""Uploads against a real `editroom serve` process: a 1 GiB file in flat memory, and a client
that goes away mid-upload leaving nothing behind."""

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests import media
from tests.processes import editroom_env, serving
from tests.queue import Conn
from tests.waiting import eventually

GIB = 1024**3
# The bound. The API idles near 120 MiB (it loads no runner media stack); a file held
# in memory would add a GiB.
PEAK_RSS_LIMIT_BYTES = 150 * 1024**2
CHUNK_BYTES = 1024 * 1024


@pytest.fixture
def database_url(module_database_url: str) -> str:
    """The module's database, for `conn` too."""
    return module_database_url


@pytest.fixture(scope="module")
def server(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """One serve process for the module (it takes seconds to start): each test looks at what
    its own upload did, not at the whole library."""
    tmp = tmp_path_factory.mktemp("upload-process")
    data_dir = tmp / "data"
    with serving(editroom_env(module_database_url, data_dir), tmp / "serve.log") as base_url:
        yield base_url, data_dir


def peak_rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def server_pid(port: str) -> int:
    """The pid listening on the port (the serve process itself)."""
    inode = next(
        line.split()[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{int(port):04X}") and line.split()[3] == "0A"
    )
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(f"socket:[{inode}]" == str(fd.readlink()) for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    raise AssertionError("no process listens on the port")


def repeated(segment: bytes, total: int) -> Iterator[bytes]:
    """`total` bytes of a video: an MPEG-TS segment over and over (a valid stream)."""
    sent = 0
    while sent < total:
        for start in range(0, len(segment), CHUNK_BYTES):
            chunk = segment[start : start + CHUNK_BYTES]
            sent += len(chunk)
            yield chunk


def test_a_one_gib_upload_streams_in_flat_memory(
    server: tuple[str, Path], tmp_path: Path, conn: Conn
) -> None:
    base_url, data_dir = server
    clip = media.write_video(
        tmp_path / "seg.ts", container="mpegts", seconds=4.0, size=(320, 240), fps=25
    )
    segment = clip.read_bytes()
    total = GIB + len(segment) - GIB % len(segment)
    pid = server_pid(base_url.rsplit(":", 1)[1])
    before = peak_rss_bytes(pid)
    stored_before = stored_bytes(data_dir)

    response = httpx.post(
        f"{base_url}/bucket/upload", params={"filename": "big.ts"},
        content=repeated(segment, total), timeout=300,
    )  # fmt: skip

    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] >= GIB
    assert response.json()["kind"] == "video"
    peak = peak_rss_bytes(pid)
    assert peak < PEAK_RSS_LIMIT_BYTES, (
        f"peak RSS {peak / 2**20:.0f} MiB (was {before / 2**20:.0f})"
    )
    assert stored_bytes(data_dir) - stored_before == response.json()["size_bytes"]


def stored_bytes(data_dir: Path) -> int:
    stored = (data_dir / "bucket" / "media").rglob("*")
    return sum(p.stat().st_size for p in stored if p.is_file())


def stored_files(data_dir: Path) -> set[Path]:
    return {p for p in (data_dir / "bucket").rglob("*") if p.is_file()}


def media_rows(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.media").fetchone()
    assert row is not None
    return int(row["n"])


def test_a_client_that_disconnects_leaves_nothing(server: tuple[str, Path], conn: Conn) -> None:
    base_url, data_dir = server
    rows_before, files_before = media_rows(conn), stored_files(data_dir)
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as client:
        # The Host the service answers: any other is refused before a byte of the body is read.
        client.sendall(
            f"POST /bucket/upload HTTP/1.1\r\nHost: {host}:{port}\r\n".encode()
            + b"Content-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\n"
        )
        client.sendall(b"\xff\xd8\xff" + b"\0" * 5_000_000)
        uploads = data_dir / "uploads"
        eventually(lambda: any(uploads.glob("upload-*")), what="the upload to be under way")
    eventually(lambda: not any(uploads.glob("upload-*")), what="the partial upload to go")
    assert media_rows(conn) == rows_before
    assert stored_files(data_dir) == files_before
    assert httpx.get(f"{base_url}/healthz").status_code == 200
