"""Trouble with our disk is not the video's fault: FFmpeg's errors with an errno of real I/O
trouble (ENOSPC, EIO) pass through (the sandbox reports them as retryable), while everything
else FFmpeg says, a file it refuses to open (EACCES, EPERM) included, fails the edit. An EIO
reading a source is ours only when the source cannot be read back either."""

import errno
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from runner.engine.video.conform import Conformer
from runner.engine.video.encoders import Encoder
from runner.engine.video.output import Muxer
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make

INVALID_DATA = -1094995529  # FFmpeg's AVERROR_INVALIDDATA


def ffmpeg_error(error_class: type[av.error.FFmpegError], code: int, path: str) -> Exception:
    text = os.strerror(code) if code > 0 else "Invalid data found when processing input"
    return error_class(code, text, path)


def test_a_full_disk_while_writing_passes_through(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(muxer: Muxer, packet: Any) -> None:
        raise ffmpeg_error(av.error.OSError, errno.ENOSPC, ".video.mkv.partial")

    monkeypatch.setattr(Muxer, "mux", full)
    with pytest.raises(av.error.OSError) as raised:
        edit(make(), [("format", "mkv")])  # a remux: packets go straight to the muxer
    assert raised.value.errno == errno.ENOSPC
    assert not isinstance(raised.value, EditFailed)


@pytest.mark.parametrize(
    ("error_class", "code", "disk_fails", "final"),
    [
        (av.error.OSError, errno.EIO, True, False),
        (av.error.OSError, errno.EIO, False, True),  # FFmpeg's Matroska reader says EIO of data
        (av.error.PermissionError, errno.EACCES, False, True),
        (av.error.PermissionError, errno.EPERM, False, True),
        (av.error.InvalidDataError, INVALID_DATA, False, True),
    ],
)
def test_only_errors_about_the_data_blame_the_source(
    make: Make,
    edit: Edit,
    monkeypatch: pytest.MonkeyPatch,
    error_class: type[av.error.FFmpegError],
    code: int,
    disk_fails: bool,
    final: bool,
) -> None:
    """`disk_fails`: reading the source back fails too, as our disk's EIO would make it."""
    source = make()
    real_open, real_path_open = av.open, Path.open

    def open_failing_on_the_source(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == str(source):
            raise ffmpeg_error(error_class, code, str(source))
        return real_open(file, *args, **kwargs)

    def read_back(path: Path, *args: Any, **kwargs: Any) -> Any:
        if disk_fails and path == source:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_path_open(path, *args, **kwargs)

    monkeypatch.setattr(av, "open", open_failing_on_the_source)
    monkeypatch.setattr(Path, "open", read_back)
    expected: type[Exception] = EditFailed if final else error_class
    with pytest.raises(expected) as raised:
        edit(source, [("format", "mkv")])
    if final:
        assert str(raised.value).startswith(f"{source.name} cannot be read as a video")
        assert str(source.parent) not in str(raised.value)  # a server path
    else:
        assert getattr(raised.value, "errno", None) == code


class RefusingOutput:
    """An output whose muxer refuses every packet, as FFmpeg's do a timestamp or codec they
    cannot store."""

    def __init__(self, stream: Any) -> None:
        self.format = stream.container.format

    def mux_one(self, packet: Any) -> None:
        raise ffmpeg_error(av.error.InvalidDataError, INVALID_DATA, "video.mkv")


def test_a_muxer_refusing_a_packet_names_the_result_not_the_source(tmp_path: Path) -> None:
    with av.open(str(tmp_path / "video.mkv"), "w") as output:
        stream = output.add_stream("libx264", rate=24)
        muxer = Muxer(RefusingOutput(stream), stream, time_base=Fraction(1, 24))  # type: ignore[arg-type]
        packet = av.Packet(b"\0\0\0\1")
        packet.pts = packet.dts = 0
        with pytest.raises(EditFailed) as refused:
            muxer.mux(packet)
    assert str(refused.value) == (
        "the matroska result could not be written: Invalid data found when processing input"
    )


class FailingEncoder:
    """A codec context whose encoding fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def open(self) -> None:
        """Opens."""

    def encode(self, frame: Any) -> list[Any]:
        raise self._error


@pytest.mark.parametrize(
    ("error", "final"),
    [
        (ffmpeg_error(av.error.OSError, errno.ENOSPC, "video.mp4"), False),
        (ffmpeg_error(av.error.OSError, errno.ENOMEM, "video.mp4"), False),
        (ffmpeg_error(av.error.InvalidDataError, INVALID_DATA, "video.mp4"), True),
    ],
)
def test_only_an_encoders_errors_about_the_result_fail_the_edit(
    error: Exception, final: bool
) -> None:
    encoder = Encoder(FailingEncoder(error), what="h264 at 64x48")  # type: ignore[arg-type]
    with pytest.raises(EditFailed if final else type(error)) as raised:
        encoder.encode(None)
    if final:
        assert str(raised.value).startswith("the result cannot be encoded as h264 at 64x48: ")
    else:
        assert raised.value is error


def test_a_filter_refusing_the_frames_names_the_result_not_the_source() -> None:
    """Frames are filtered while a source is open for reading: its refusal is the result's."""
    conformer = Conformer(["scale=nonsense=1"], time_base=Fraction(1, 24))
    with pytest.raises(EditFailed, match=r"^the result's frames cannot be made \(scale\): "):
        conformer.push(av.VideoFrame(16, 16, "yuv420p"))
