"""What an import lets yt-dlp download, and that it runs no helper program to do it."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from yt_dlp.postprocessor.ffmpeg import FFmpegPostProcessor  # type: ignore[import-not-found]

from runner.engine.imports.download import _Progress, _Quiet, _ydl_options, no_helper_programs
from runner.engine.imports.formats import check_chosen, selector
from runner.engine.imports.guard import ByteBudget
from runner.engine.imports.request import ImportRequest
from service.kernel.errors import EditFailed

PAGE = "https://videos.example/watch/1"


def chosen(**fields: Any) -> dict[str, Any]:
    return {"webpage_url": PAGE, "url": "https://cdn.example/a.mp4", "protocol": "https", **fields}


@pytest.mark.parametrize(
    "request_fields",
    [{}, {"format": "mp4"}, {"format": "mp4", "max_height": 720}, {"format": "audio"}],
)
def test_every_choice_of_the_selector_is_fetched_natively(request_fields: dict[str, Any]) -> None:
    choices = selector(ImportRequest(url=PAGE, **request_fields)).split("/")
    assert all(
        choice.endswith(("[protocol^=http]", "[protocol=m3u8_native]")) for choice in choices
    )
    assert choices[0].endswith("[protocol^=http]")  # a plain file before an HLS stream


@pytest.mark.parametrize(
    "info",
    [
        chosen(),
        chosen(protocol="http", url="http://cdn.example/a.webm"),
        chosen(
            protocol="http_dash_segments",
            fragment_base_url="https://cdn.example/dash/",
            fragments=[{"path": "seg-1.m4s"}, {"url": "https://cdn.example/dash/seg-2.m4s"}],
        ),
        chosen(live_status="was_live"),
        chosen(protocol="m3u8_native", url="https://cdn.example/a.m3u8"),
    ],
)
def test_recorded_media_over_http_passes(info: dict[str, Any]) -> None:
    check_chosen(info)


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (chosen(is_live=True), "is a live stream"),
        (chosen(live_status="is_upcoming"), "is a live stream"),
        (chosen(protocol="m3u8", url="https://cdn.example/a.m3u8"), "over m3u8"),  # ffmpeg's
        (chosen(protocol="m3u8_native", is_live=True), "is a live stream"),
        (chosen(protocol="rtmp", url="rtmp://cdn.example/live"), "over rtmp"),
        (chosen(protocol=None), "over an unknown protocol"),
        (chosen(url="file:///etc/passwd"), "which is not http(s)"),
        (
            chosen(requested_formats=[chosen(), chosen(protocol="rtsp", url="rtsp://h/x")]),
            "over rtsp",
        ),
        (
            chosen(protocol="http_dash_segments", fragments=[{"url": "ftp://h/seg-1.m4s"}]),
            "ftp://h/seg-1.m4s, which is not http(s)",
        ),
    ],
)
def test_live_streams_and_other_protocols_are_refused(info: dict[str, Any], message: str) -> None:
    with pytest.raises(
        EditFailed, match="accepted: recorded media downloaded over http"
    ) as refused:
        check_chosen(info)
    assert message in str(refused.value)


def test_yt_dlp_finds_no_helper_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    programs = tmp_path / "bin"
    programs.mkdir()
    for name in ("ffmpeg", "ffprobe"):  # found on PATH, they would be used
        fake = programs / name
        fake.write_text("#!/bin/sh\necho 'ffmpeg version 7.1 Copyright'\n")
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(programs))
    request = ImportRequest(url=PAGE)
    options = _ydl_options(
        request, tmp_path, _Progress(lambda *_: None), ByteBudget(1000), 5.0, _Quiet()
    )
    with yt_dlp.YoutubeDL(options) as ydl:
        assert not FFmpegPostProcessor(ydl).available
    assert options["external_downloader"] == {"default": "native"}
    assert options["js_runtimes"] == {}


def test_no_program_starts_meanwhile() -> None:
    with no_helper_programs(), pytest.raises(PermissionError, match="no helper programs"):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    subprocess.run([sys.executable, "-c", "pass"], check=True)  # restored afterwards
