"""Compressed answers (Content-Encoding) held to the import's limit once decoded, in both of
yt-dlp's HTTP libraries: requests (urllib3), its choice when installed, as in these tests, and
urllib, its choice without it, as in an install of editroom alone."""

import importlib
import multiprocessing
import os
import resource
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from runner.engine.imports.download import import_url
from runner.engine.imports.guard import ImportPolicy
from runner.engine.imports.request import ImportRequest
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed
from tests import media
from tests.web import compressed, compressed_page, handlers_of, serve_bytes, web_server

LIMIT_BYTES = 1024 * 1024
MIB = 1024 * 1024
STOPPED = (
    f"the import was stopped at {LIMIT_BYTES:,} bytes, its limit (EDITROOM_IMPORT_MAX_BYTES), "
    "counting what the server's compressed answer (Content-Encoding: gzip) decompresses to"
)
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
    youtube_dl: Any = importlib.import_module("yt_dlp.YoutubeDL")
    monkeypatch.setattr(youtube_dl, "_REQUEST_HANDLERS", handlers_of(request.param))
    name: str = request.param
    return name


def run(url: str, out: Path) -> Any:
    return import_url(
        ImportRequest(url=url), str(out), ImportPolicy(allow_private=True), LIMITS, OPTIONS,
        progress=lambda *_: None,
    )  # fmt: skip


def stored_bytes(out: Path) -> int:
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


def test_a_compression_bomb_is_stopped_at_the_limit(library: str, tmp_path: Path) -> None:
    """64 MiB of zeros, 64 KiB gzipped: within the limit as received. Decoded, it used to be
    written out whole (requests) or held whole in memory first (urllib)."""
    bomb = compressed(b"\0" * (64 * LIMIT_BYTES), "video/mp4")
    with web_server({"/bomb": bomb}) as base_url, pytest.raises(EditFailed) as failed:
        run(f"{base_url}/bomb", tmp_path / "out")
    assert str(failed.value) == STOPPED
    assert stored_bytes(tmp_path / "out") <= LIMIT_BYTES


def test_a_compressed_page_is_stopped_before_it_is_whole_in_memory(
    library: str, tmp_path: Path
) -> None:
    """A web page of 256 MiB, 256 KiB gzipped, which the extractor reads whole (read() with
    no size): requests used to decode it all, in 1 MiB pieces joined together, before a byte
    was counted (the process grew by twice the page)."""
    with web_server({"/page": compressed_page(256 * MIB)}) as base_url:
        said, growth_bytes = in_a_child(library, f"{base_url}/page", tmp_path / "out")
    assert said == STOPPED
    assert growth_bytes < 64 * MIB


def in_a_child(library: str, url: str, out: Path) -> tuple[str, int]:
    """The import's error and how much the process grew, importing in a fresh process."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(peak_growth, library, url, out).result()


def peak_growth(library: str, url: str, out: Path) -> tuple[str, int]:
    youtube_dl: Any = importlib.import_module("yt_dlp.YoutubeDL")
    youtube_dl._REQUEST_HANDLERS = handlers_of(library)
    before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        run(url, out)
    except EditFailed as exc:
        said = str(exc)
    else:
        said = "imported"
    return said, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kib) * 1024


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_within_the_limit_is_imported(
    library: str, encoding: str, tmp_path: Path
) -> None:
    clip = media.write_video(tmp_path / "clip.mp4", seconds=1.0, size=(160, 120)).read_bytes()
    route = compressed(clip, "video/mp4", encoding=encoding)
    with web_server({"/clip.mp4": route}) as base_url:
        (produced,) = run(f"{base_url}/clip.mp4", tmp_path / "out")
    assert produced.size_bytes == len(clip)


def test_compressed_and_plain_answers_share_the_one_limit(library: str, tmp_path: Path) -> None:
    """A gzip page decoding to 60% of the limit, then a plain file of 60% of it: each within
    the limit alone, together over it. Each was held to a limit of its own (twice the limit
    in all)."""
    page = b'<!DOCTYPE html><html><body><video src="/clip.mp4"></video>' + b" " * (6 * MIB // 10)
    routes = {
        "/page": compressed(page + b"</body></html>", "text/html"),
        "/clip.mp4": serve_bytes(b"\0" * (6 * MIB // 10), "video/mp4"),
    }
    with web_server(routes) as base_url, pytest.raises(EditFailed) as failed:
        run(f"{base_url}/page", tmp_path / "out")
    assert str(failed.value) == STOPPED
    assert stored_bytes(tmp_path / "out") <= LIMIT_BYTES


def test_a_compressed_answer_counts_once_as_its_decoded_size(tmp_path: Path) -> None:
    """A video of 85% of the limit whose gzip is as large (its padding is random): what it took
    from the network is not counted again as it decodes. Through requests only: through urllib
    the extractor's first look at the URL receives the whole answer, then the download again."""
    clip = media.write_video(tmp_path / "clip.mp4", seconds=1.0, size=(160, 120)).read_bytes()
    padding = os.urandom(85 * LIMIT_BYTES // 100 - len(clip))
    padded = clip + (len(padding) + 8).to_bytes(4, "big") + b"free" + padding  # an MP4 box
    with web_server({"/clip.mp4": compressed(padded, "video/mp4")}) as base_url:
        (produced,) = run(f"{base_url}/clip.mp4", tmp_path / "out")
    assert produced.size_bytes == len(padded)
