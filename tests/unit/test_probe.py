"""Deciding what a file is from its bytes, and refusing what editroom cannot take."""

import errno
import re
import struct
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from runner.engine.damage import said_of_the_data
from runner.engine.ops.base import MediaKind
from runner.engine.probe import (
    ACCEPTED,
    INTACT,
    MediaFacts,
    declared_seconds,
    picture_stream,
    probe,
)
from service.kernel.errors import InvalidMedia, UnsupportedMedia
from tests import hostile, media

MAX_PIXELS = 50_000_000
MAX_SECONDS = 60.0


def facts_of(path: Path, *, max_seconds: float = MAX_SECONDS) -> MediaFacts:
    return probe(path, max_pixels=MAX_PIXELS, max_video_seconds=max_seconds)


def saved(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("content", "content_type", "size"),
    [
        (media.image_bytes("JPEG"), "image/jpeg", (64, 48)),
        (media.image_bytes("JPEG", mode="CMYK"), "image/jpeg", (64, 48)),
        (media.image_bytes("PNG", mode="RGBA"), "image/png", (64, 48)),
        (media.image_bytes("WEBP"), "image/webp", (64, 48)),
        (media.image_bytes("TIFF"), "image/tiff", (64, 48)),
        (media.image_bytes("AVIF"), "image/avif", (64, 48)),
        (media.animated("GIF"), "image/gif", (32, 24)),
        (media.animated("WEBP"), "image/webp", (32, 24)),
        (media.exif_rotated_jpeg((64, 48), orientation=6), "image/jpeg", (48, 64)),
    ],
)
def test_images(tmp_path: Path, content: bytes, content_type: str, size: tuple[int, int]) -> None:
    # Named .bin: the name says nothing, the bytes say everything.
    facts = facts_of(saved(tmp_path, "upload.bin", content))
    assert facts.kind is MediaKind.IMAGE
    assert facts.content_type == content_type
    assert (facts.width, facts.height) == size


@pytest.mark.parametrize(
    ("options", "content_type", "codecs"),
    [
        ({}, "video/mp4", ("h264", "aac")),
        (
            {"container": "webm", "vcodec": "libvpx-vp9", "acodec": "libopus"},
            "video/webm",
            ("vp9", "opus"),
        ),
        ({"container": "matroska"}, "video/x-matroska", ("h264", "aac")),
        ({"container": "mov"}, "video/quicktime", ("h264", "aac")),
        ({"acodec": None}, "video/mp4", ("h264", None)),
        # The codecs' names, not the decoders' FFmpeg picks for them (libdav1d, mp3float).
        ({"vcodec": "libsvtav1", "acodec": "libmp3lame"}, "video/mp4", ("av1", "mp3")),
    ],
)
def test_videos(
    tmp_path: Path, options: dict[str, str], content_type: str, codecs: tuple[str, str | None]
) -> None:
    path = media.write_video(tmp_path / "upload.bin", seconds=1.0, fps=12, **options)  # type: ignore[arg-type]
    facts = facts_of(path)
    assert facts.kind is MediaKind.VIDEO
    assert facts.content_type == content_type
    assert (facts.width, facts.height) == (64, 48)
    assert (facts.video_codec, facts.audio_codec) == codecs
    assert facts.duration_seconds == pytest.approx(1.0, abs=0.1)
    assert facts.frame_rate == pytest.approx(12)


@pytest.mark.parametrize(
    "content",
    [b"hello, this is text\n" * 50, b"%PDF-1.7\n" + b"0" * 500],
    ids=["text", "pdf"],
)
def test_other_files_are_unsupported(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(UnsupportedMedia, match="accepted: images"):
        facts_of(saved(tmp_path, "x.jpg", content))


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (media.image_bytes("BMP"), "BMP"),
        (media.image_bytes("ICO"), "ICO"),
        (b"P6\n16 16\n255\n" + bytes(16 * 16 * 3), "PPM"),
    ],
    ids=["bmp", "ico", "ppm"],
)
def test_an_image_format_editroom_does_not_read_is_named_as_one(
    tmp_path: Path, content: bytes, said: str
) -> None:
    """Pillow is not given these; FFmpeg then opened them, and its demuxer's name was the
    refusal: "the piped bmp sequence format is not supported"."""
    with pytest.raises(UnsupportedMedia) as refused:
        facts_of(saved(tmp_path, "upload", content))
    assert str(refused.value) == (
        f"{said} is an image format editroom does not read; accepted: images (JPEG, PNG, WebP, "
        "GIF, TIFF, AVIF) and videos (MP4, MOV, WebM, MKV, MPEG-TS, AVI, Ogg)"
    )


def test_an_image_of_a_format_editroom_reads_that_pillow_cannot_open_is_damaged(
    tmp_path: Path,
) -> None:
    """A PNG whose header chunk is unreadable: FFmpeg opens it as a PNG still, and it was
    refused as "the piped png sequence format is not supported" (415), not as damaged."""
    png = media.image_bytes("PNG")
    broken = png[:12] + b"IHDX" + png[16:]  # the first chunk must be IHDR
    with pytest.raises(InvalidMedia, match=r"^the PNG image is truncated or corrupt; accepted: "):
        facts_of(saved(tmp_path, "upload", broken))


@pytest.mark.parametrize(
    "script",
    ["file /etc/passwd\n", "file passwd\n", "file http://127.0.0.1:9/v.mp4\n"],
    ids=["absolute-path", "relative-path", "url"],
)
def test_a_script_naming_other_files_is_unsupported_not_our_trouble(
    tmp_path: Path, script: str
) -> None:
    """FFmpeg refuses (EPERM, ENOENT) to open what an ffconcat script names: the file's
    doing, so a final 415 that names no path of ours, never an OSError to retry."""
    path = saved(tmp_path, "upload-1234", f"ffconcat version 1.0\n{script}".encode())
    with pytest.raises(UnsupportedMedia, match="accepted: images") as refused:
        facts_of(path)
    assert str(tmp_path) not in str(refused.value)


def test_audio_alone_is_unsupported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedMedia, match="no video stream"):
        facts_of(media.write_audio_only(tmp_path / "tone.ogg"))


def test_a_refusal_keeps_what_was_wrong_apart_from_what_is_accepted(tmp_path: Path) -> None:
    """What was wrong can be quoted alone (a result read back says it, not the uploads' list
    of formats), without cutting the message; one that crossed from the sandbox, as its class
    and text, says its whole text."""
    with pytest.raises(UnsupportedMedia) as refused:
        facts_of(media.write_audio_only(tmp_path / "tone.ogg"))
    assert (refused.value.problem, refused.value.accepted) == (
        "the file has no video stream",
        ACCEPTED,
    )
    assert str(refused.value) == f"the file has no video stream; accepted: {ACCEPTED}"
    crossed = InvalidMedia.__new__(InvalidMedia)
    Exception.__init__(crossed, "the video is truncated; accepted: x")
    assert (crossed.problem, crossed.accepted) == ("the video is truncated; accepted: x", None)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_truncated_images_are_invalid(tmp_path: Path, fmt: str) -> None:
    content = media.image_bytes(fmt, size=(256, 256))
    with pytest.raises(InvalidMedia, match=f"truncated or corrupt: .*; {re.escape(INTACT)}$"):
        facts_of(saved(tmp_path, "cut", content[: len(content) * 2 // 3]))


@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_videos_are_invalid(tmp_path: Path, faststart: bool) -> None:
    path = media.write_video(tmp_path / "v.mp4", seconds=4.0, size=(128, 96), fps=25)
    if faststart:
        path = media.faststart(path)
    content = path.read_bytes()
    with pytest.raises(InvalidMedia, match=r"truncated|corrupt") as refused:
        facts_of(saved(tmp_path, "cut.mp4", content[: len(content) // 2]))
    assert str(refused.value).endswith(f"; {INTACT}")
    assert str(tmp_path) not in str(refused.value)


@pytest.mark.parametrize("container", ["mp4", "webm", "mkv", "mov"])
def test_a_video_cut_anywhere_is_refused_or_read_never_an_error_of_ours(
    tmp_path: Path, container: str
) -> None:
    """A cut late in the file can leave an audio stream whose codec is never described."""
    vcodec = "libvpx-vp9" if container == "webm" else "libx264"
    acodec = "libopus" if container == "webm" else "aac"
    path = media.write_video(tmp_path / f"v.{container}", vcodec=vcodec, acodec=acodec)
    content = path.read_bytes()
    for percent in (5, 20, 40, 60, 80, 90, 95, 97, 99):
        cut = saved(
            tmp_path, f"cut-{percent}.{container}", content[: len(content) * percent // 100]
        )
        try:
            facts_of(cut)
        except (InvalidMedia, UnsupportedMedia) as refused:
            message = str(refused)
        else:
            continue  # the cut left a readable video
        assert "accepted: " in message, (percent, message)


def test_undecodable_videos_are_invalid(tmp_path: Path) -> None:
    content = bytearray(media.write_video(tmp_path / "v.mp4", acodec=None).read_bytes())
    start = content.find(b"mdat") + 4  # the frames' data, zeroed
    end = start - 8 + int.from_bytes(content[start - 8 : start - 4], "big")
    content[start:end] = bytes(end - start)
    with pytest.raises(InvalidMedia, match="the video is corrupt") as refused:
        facts_of(saved(tmp_path, "zeroed.mp4", bytes(content)))
    assert str(refused.value).endswith(f"; {INTACT}")


def test_decompression_bombs_are_refused_before_decoding(tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia, match="the limit is 50,000,000"):
        facts_of(saved(tmp_path, "bomb.png", media.png_claiming_size(100_000, 100_000)))


def test_videos_over_the_duration_limit_are_refused(tmp_path: Path) -> None:
    path = media.write_video(tmp_path / "long.mp4", seconds=2.0)
    with pytest.raises(InvalidMedia, match=r"the limit is 1 s \(EDITROOM_MAX_VIDEO_SECONDS\)"):
        facts_of(path, max_seconds=1.0)


def test_a_video_whose_data_plays_past_the_limit_is_refused_whatever_its_header_says(
    tmp_path: Path,
) -> None:
    path = media.write_video(tmp_path / "long.mkv", container="matroska", seconds=3.0)
    media.declaring_duration(path, 0.5)
    with pytest.raises(InvalidMedia) as refused:
        facts_of(path, max_seconds=2.0)
    assert str(refused.value).startswith(
        "the video's data plays for 3.0 s, though its header declares 0.5 s; "
        "the limit is 2 s (EDITROOM_MAX_VIDEO_SECONDS)"
    )


@pytest.mark.parametrize(
    ("container", "refusal"),
    [
        ("mp4", r"^the video lasts 3 s; the limit is 2 s"),  # its sound's track declares 3 s
        ("matroska", r"^the video's data plays for 3\.0 s, though its header declares 0\.5 s"),
    ],
)
def test_a_video_whose_sound_plays_past_the_limit_is_refused(
    tmp_path: Path, container: str, refusal: str
) -> None:
    path = media.write_video(
        tmp_path / "long-sound", container=container, seconds=0.5, sound_seconds=3.0
    )
    if container == "matroska":
        media.declaring_duration(path, 0.5)
    with pytest.raises(InvalidMedia, match=refusal):
        facts_of(path, max_seconds=2.0)


def test_a_video_playing_past_its_header_is_recorded_as_its_header_says(tmp_path: Path) -> None:
    """An edit reads a source no further than its header's duration: the row says as much."""
    path = media.write_video(tmp_path / "long.mkv", container="matroska", seconds=3.0)
    facts = facts_of(media.declaring_duration(path, 2.5))
    assert facts.duration_seconds == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("container", "acodec", "declare"),
    [
        ("mp4", None, media.declaring_no_length_mp4),
        ("mp4", "aac", media.declaring_no_length_mp4),
        ("matroska", None, lambda path: media.declaring_duration(path, -5.0)),
    ],
    ids=["mp4-0s", "mp4-0s-with-sound", "matroska-negative"],
)
def test_a_video_whose_header_declares_no_time_is_recorded_as_long_as_its_data_plays(
    tmp_path: Path, container: str, acodec: str | None, declare: Callable[[Path], Path]
) -> None:
    """A duration of 0 s or less declares nothing: taken at its word, a 0 s was recorded, the
    data neither measured nor compared with it, and a trim refused as past its end (a -5 s
    broke the row's CHECK, duration_seconds >= 0: the upload answered 409)."""
    path = declare(
        media.write_video(
            tmp_path / f"upload.{container}", container=container, acodec=acodec, seconds=2.0
        )
    )
    with av.open(str(path)) as declaring:  # nothing: neither the picture, the sound nor the file
        assert declared_seconds(declaring, picture_stream(declaring)) is None
    assert facts_of(path).duration_seconds == pytest.approx(2.0, abs=0.1)


def test_an_avif_the_image_reader_refuses_is_broken_not_a_video(tmp_path: Path) -> None:
    """FFmpeg reads an AVIF's picture as a video of one frame: an AVIF whose header Pillow
    refused (its size made 60000x60000) was stored as video/mp4."""
    data = bytearray(media.image_bytes("AVIF"))
    at = data.index(b"ispe")
    data[at + 8 : at + 16] = struct.pack(">II", 60_000, 60_000)
    with pytest.raises(InvalidMedia, match=r"^the AVIF image is truncated or corrupt; accepted"):
        facts_of(saved(tmp_path, "upload", bytes(data)))


def test_a_heif_image_is_unsupported_not_a_video(tmp_path: Path) -> None:
    data = media.image_bytes("AVIF").replace(b"ftypavif", b"ftypheic", 1)
    with pytest.raises(UnsupportedMedia, match=r"^HEIF images \(brand 'heic'"):
        facts_of(saved(tmp_path, "upload", data))


def test_a_jpeg_of_many_markers_before_its_picture_is_read_as_a_jpeg(tmp_path: Path) -> None:
    """Its first bytes all comments, FFmpeg guessed AMR-WB sound (the file saved without an
    extension, as an upload is): refused as "tuple index out of range"."""
    plain = media.image_bytes("JPEG")
    commented = plain[:2] + b"\xff\xfe\x00\x04ab" * 1000 + plain[2:]
    facts = facts_of(saved(tmp_path, "upload", commented))
    assert (facts.content_type, facts.width, facts.height) == ("image/jpeg", 64, 48)


@pytest.mark.parametrize("container", ["webm", "matroska"])
def test_a_live_recording_is_recorded_as_long_as_its_data_plays(
    tmp_path: Path, container: str
) -> None:
    """A browser's MediaRecorder writes no duration in the header: one was recorded as None."""
    vcodec = "libvpx-vp9" if container == "webm" else "libx264"
    acodec = "libopus" if container == "webm" else "aac"
    path = media.write_video(
        tmp_path / "live.webm",
        container=container,
        vcodec=vcodec,
        acodec=acodec,
        seconds=2.0,
        live=True,
    )
    assert facts_of(path).duration_seconds == pytest.approx(2.0, abs=0.1)


def test_a_video_of_a_frame_every_few_seconds_is_whole_not_truncated(tmp_path: Path) -> None:
    """A slideshow: FFmpeg learns the start of this Matroska file only while demuxing it, and
    then says a later packet's time; read after, the data seemed to end at 5 s of 20."""
    path = tmp_path / "slides.mkv"
    media.write_video(path, container="matroska", acodec=None, seconds=20, fps=Fraction(1, 5))
    assert facts_of(path).duration_seconds == pytest.approx(20.0, abs=0.1)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("cut.gif", hostile.gif_cut_in_its_second_frame()),
        ("no-width.tiff", hostile.tiff_whose_second_page_has_no_width()),
        ("scrambled.avif", hostile.avif_with_scrambled_data()),
    ],
    ids=["gif", "tiff", "avif"],
)
def test_damage_any_image_reader_reports_is_the_files_not_ours(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """Pillow's readers say damage with IndexError (GIF), TypeError (TIFF), RuntimeError
    (AVIF): they came back from the check as an internal error of ours, a 500."""
    with pytest.raises(InvalidMedia, match="the image is truncated or corrupt"):
        facts_of(saved(tmp_path, name, content))


def test_a_video_whose_metadata_is_not_utf8_is_read(tmp_path: Path) -> None:
    """PyAV decodes metadata strictly: a Latin-1 title raised UnicodeDecodeError, an internal
    error of ours (500) for the upload."""
    facts = facts_of(media.titled_in_latin1(tmp_path / "latin1.mkv"))
    assert (facts.kind, facts.video_codec) == (MediaKind.VIDEO, "h264")


@pytest.mark.parametrize("container", ["mkv", "webm"])
def test_a_matroska_file_cut_in_its_header_is_refused_not_retried(
    tmp_path: Path, container: str
) -> None:
    """FFmpeg's Matroska reader says EIO ("Input/output error") of a file cut in its header:
    taken for our disk's trouble, its upload was a 503 to retry, as often as it was sent."""
    vcodec = "libvpx-vp9" if container == "webm" else "libx264"
    acodec = "libopus" if container == "webm" else "aac"
    whole = media.write_video(tmp_path / f"v.{container}", vcodec=vcodec, acodec=acodec,
                              container="webm" if container == "webm" else "matroska")  # fmt: skip
    cut = saved(tmp_path, f"cut.{container}", whole.read_bytes()[:200])
    with pytest.raises(InvalidMedia, match="truncated or corrupt: Input/output error"):
        facts_of(cut)


def test_an_eio_is_ours_when_the_file_cannot_be_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = saved(tmp_path, "v.mkv", b"\x1a\x45\xdf\xa3")
    eio = OSError(errno.EIO, "Input/output error")
    assert said_of_the_data(eio, path)
    assert not said_of_the_data(OSError(errno.ENOSPC, "No space left on device"), path)

    def failing(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(Path, "open", failing)
    assert not said_of_the_data(eio, path)


@pytest.mark.parametrize("start", [2.0, 0.0])
def test_a_video_whose_picture_has_no_timed_data_after_its_start_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: float
) -> None:
    """Its reach (the picture's last time less its start) is the length recorded of a header
    that declares none. Starting at 2 s, it came out below 0, and the row's CHECK
    (duration_seconds >= 0) refused it as a 409 in the constraint's words; starting at 0, it
    was 0 s, recorded, and read as an unknown length, for which every edit of it was given the
    time of the longest video allowed. A live WebM, its packets read untimed."""
    live = media.write_video(tmp_path / "live.webm", container="webm", vcodec="libvpx-vp9",
                             acodec=None, live=True)  # fmt: skip
    path = tmp_path / "late.webm"
    with (
        av.open(str(live)) as source,
        av.open(str(path), "w", format="webm", options={"live": "1"}) as output,
    ):
        stream = output.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.pts is not None and packet.dts is not None and packet.time_base:
                shift = round(start / packet.time_base)
                packet.pts, packet.dts, packet.stream = (
                    packet.pts + shift,
                    packet.dts + shift,
                    stream,
                )
                output.mux(packet)
    opened = av.open

    class Untimed:
        def __init__(self, *args: Any, **options: Any) -> None:
            self._container = opened(*args, **options)

        def __getattr__(self, name: str) -> object:
            return getattr(self._container, name)

        def __enter__(self) -> "Untimed":
            return self

        def __exit__(self, *exc: object) -> None:
            self._container.close()

        def demux(self, *streams: Any) -> Iterator[Any]:
            for packet in self._container.demux(*streams):
                packet.pts = None
                yield packet

    monkeypatch.setattr(av, "open", Untimed)
    with pytest.raises(InvalidMedia, match=r"^the video has no playable length: its picture has "):
        facts_of(path)


def test_a_live_recording_of_one_frame_lasts_one_frame(tmp_path: Path) -> None:
    """A MediaRecorder's WebM of a single frame: its packet, at 0 s, says no length, and the
    picture plays no further than its start. It was recorded as 0 s (an unknown length); it
    lasts one frame at its stream's rate (FFmpeg guesses the time base's, 1/1000 s)."""
    facts = facts_of(media.live_at_its_start(tmp_path / "one.webm", frames=1))
    assert facts.frame_rate is not None
    assert facts.duration_seconds == pytest.approx(1 / facts.frame_rate)


def test_a_live_recording_of_one_frame_lasts_as_long_as_its_sound(tmp_path: Path) -> None:
    """One frame at 0 s whose packet says no length, then 3 s of sound: a player holds the
    frame while the sound plays; it was recorded as one frame long."""
    path = media.live_at_its_start(tmp_path / "one.webm", frames=1, sound_seconds=3.0)
    assert facts_of(path).duration_seconds == pytest.approx(3.0, abs=0.03)


@pytest.mark.parametrize("sound_seconds", [None, 3.0], ids=["alone", "with-sound"])
def test_a_video_whose_frames_are_all_at_its_start_is_refused(
    tmp_path: Path, sound_seconds: float | None
) -> None:
    """Twelve frames at 0 s, none saying its length: recorded as 0 s, read as an unknown length,
    every edit of it was given the time of the longest video allowed (20 h by default). A sound
    after them says how long the video plays, not which frame is shown how long: refused too."""
    path = media.live_at_its_start(tmp_path / "twelve.webm", frames=12, sound_seconds=sound_seconds)
    with pytest.raises(InvalidMedia, match=r"^the video has no playable length: its header "):
        facts_of(path)


def test_an_audio_files_length_is_read_as_a_videos_is(tmp_path: Path) -> None:
    """audio=extract's file: its header's duration read by declared_seconds, where a 0 s says
    nothing, as of a video (its own reading recorded the 0)."""
    path = media.write_audio_only(tmp_path / "sound.m4a", container="ipod", codec="aac")
    sound = probe(path, max_pixels=10**6, max_video_seconds=60, sound_alone=True)
    assert sound.duration_seconds == pytest.approx(0.5, abs=0.05)
    media.declaring_no_length_mp4(path)
    sound = probe(path, max_pixels=10**6, max_video_seconds=60, sound_alone=True)
    assert sound.duration_seconds is None


@pytest.mark.parametrize(
    ("container", "vcodec", "acodec", "live"),
    [
        ("mp4", "libx264", "aac", False),
        ("mov", "libx264", "aac", False),
        ("matroska", "libx264", "aac", False),
        ("webm", "libvpx-vp9", "libopus", False),
        ("webm", "libvpx-vp9", "libopus", True),
    ],
    ids=["mp4", "mov", "matroska", "webm", "live-webm"],
)
def test_a_video_whose_picture_ends_before_its_sound_lasts_as_long_as_its_sound(
    tmp_path: Path, container: str, vcodec: str, acodec: str, live: bool
) -> None:
    """One frame, then 5 s of sound: a player shows the frame for 5 s. An MP4 or a MOV was
    recorded as lasting its picture's 0.083 s (its track's own length), and every trim past
    it refused; a Matroska or WebM (whose header says 5 s) was refused as truncated, its
    picture's data ending at 0.1 s of 5 s; a live WebM, declaring nothing, was recorded as
    long as its picture plays."""
    path = media.write_video(
        tmp_path / f"one-frame.{container}", container=container, vcodec=vcodec,
        acodec=acodec, seconds=1 / 12, fps=12, sound_seconds=5.0, live=live,
    )  # fmt: skip
    assert facts_of(path).duration_seconds == pytest.approx(5.0, abs=0.03)
