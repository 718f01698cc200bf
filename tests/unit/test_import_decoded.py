"""Compressed answers (Content-Encoding) held to the import's limit once decoded, in both of
yt-dlp's HTTP libraries: requests (urllib3), its choice when installed, as in these tests, and
urllib, its choice without it, as in an install of editroom alone."""

import importlib
from pathlib import Path
from typing import Any

import pytest

from runner.engine.imports.download import import_url
from runner.engine.imports.guard import ImportPolicy
from runner.engine.imports.request import ImportRequest
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed
from tests import media
from tests.web import compressed, web_server

LIMIT_BYTES = 1024 * 1024
LIMITS = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=600,
                max_operations=8)  # fmt: skip
OPTIONS = {
    "max_bytes": LIMIT_BYTES,
    "socket_timeout": 10,
    "min_bytes_per_second": 0,
    "rate_window_seconds": 30,
    "max_frame_pixels": 50_000_000,
}


@pytest.fixture(params=["requests", "urllib"])
def library(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """yt-dlp's HTTP library: requests, or urllib as when requests is not installed."""
    if request.param == "urllib":
        youtube_dl: Any = importlib.import_module("yt_dlp.YoutubeDL")
        registered = youtube_dl._REQUEST_HANDLERS
        handlers = {key: rh for key, rh in registered.items() if key != "Requests"}
        monkeypatch.setattr(youtube_dl, "_REQUEST_HANDLERS", handlers)
    name: str = request.param
    return name


def run(url: str, out: Path) -> Any:
    return import_url(
        ImportRequest(url=url), str(out), ImportPolicy(allow_private=True), LIMITS, OPTIONS,
        progress=lambda *_: None,
    )  # fmt: skip


def stored_bytes(out: Path) -> int:
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


@pytest.mark.parametrize("content_type", ["video/mp4", "text/html"], ids=["media", "page"])
def test_a_compression_bomb_is_stopped_at_the_limit(
    library: str, content_type: str, tmp_path: Path
) -> None:
    """64 MiB of zeros, 64 KiB gzipped: within the limit as received. Decoded, it used to be
    written out whole (requests) or held whole in memory first (urllib)."""
    bomb = compressed(b"\0" * (64 * LIMIT_BYTES), content_type)
    with web_server({"/bomb": bomb}) as base_url, pytest.raises(EditFailed) as failed:
        run(f"{base_url}/bomb", tmp_path / "out")
    assert str(failed.value) == (
        f"the import was stopped at {LIMIT_BYTES:,} bytes, its limit (EDITROOM_IMPORT_MAX_BYTES), "
        "counting what the server's compressed answer (Content-Encoding: gzip) decompresses to"
    )
    assert stored_bytes(tmp_path / "out") <= LIMIT_BYTES


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_within_the_limit_is_imported(
    library: str, encoding: str, tmp_path: Path
) -> None:
    clip = media.write_video(tmp_path / "clip.mp4", seconds=1.0, size=(160, 120)).read_bytes()
    route = compressed(clip, "video/mp4", encoding=encoding)
    with web_server({"/clip.mp4": route}) as base_url:
        (produced,) = run(f"{base_url}/clip.mp4", tmp_path / "out")
    assert produced.size_bytes == len(clip)
