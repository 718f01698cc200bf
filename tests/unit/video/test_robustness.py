"""Awkward sources: variable frame rate, rotation, odd sizes, no sound, a timestamp gap,
truncated or corrupt files, limits; and progress reported along the way."""

import random
import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest

from runner.engine import jobs
from runner.engine.jobs import run_edit
from runner.engine.ops.base import Limits, MediaKind, Operation, Product
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.probe import MediaFacts
from runner.engine.probe import probe as upload_probe
from runner.engine.video import probe as video_probe
from runner.engine.video.output import Muxer
from service.kernel.errors import EditFailed
from tests.hostile import growing_video
from tests.media import (
    declaring_no_length_mp4,
    live_at_its_start,
    titled_in_latin1,
    with_cover_art_first,
    write_audio_only,
    write_video,
)
from tests.unit.video.conftest import LIMITS, Edit, Make, counted_calls
from tests.unit.video.media import (
    Spec,
    assert_in_sync,
    facts,
    frame_times,
    numbers,
    packets,
    shown,
    stream_end,
)


def test_variable_frame_rate_keeps_its_timestamps_when_re_encoded(make: Make, edit: Edit) -> None:
    spec = Spec(vfr=True)
    (result,) = edit(make(vfr=True), [("resize", "80x")])
    times = frame_times(spec)
    got = shown(result)
    assert [number for _, number in got] == list(range(len(times)))
    assert all(abs(at - times[number]) < 0.005 for at, number in got)
    assert_in_sync(result, specs=[spec])


def test_variable_frame_rate_smart_cut(make: Make, edit: Edit) -> None:
    spec = Spec(vfr=True)
    times = frame_times(spec)
    (result,) = edit(make(vfr=True), [("trim", f"{times[29]:.4f},{times[60]:.4f}")])
    assert numbers(result) == list(range(29, 60))
    assert_in_sync(result, specs=[spec])


def test_rotation_is_kept_when_copying_and_applied_when_re_encoding(make: Make, edit: Edit) -> None:
    source = make(rotation=90)
    (copied,) = edit(source, [("trim", "1,2")])
    assert facts(copied).rotation == 90
    assert facts(copied).size == (160, 96)
    assert_in_sync(copied)
    (turned,) = edit(source, [("resize", "48x")])
    assert facts(turned).rotation == 0
    assert facts(turned).size == (48, 80)  # upright: 96 wide, 160 high, halved
    assert numbers(turned, turned=90) == list(range(72))
    assert_in_sync(turned, turned=90)


def test_odd_dimensions_are_copied_as_they_are_and_evened_when_encoded(
    make: Make, edit: Edit
) -> None:
    source = make(size=(161, 97), container="webm", vcodec="libvpx-vp9", acodec="libopus")
    (copied,) = edit(source, [("format", "mkv")])
    assert facts(copied).size == (161, 97)
    assert packets(copied) == packets(source)
    (encoded,) = edit(source, [("format", "mp4"), ("vcodec", "h264")])
    assert facts(encoded).size == (162, 98)
    assert numbers(encoded) == list(range(72))
    assert_in_sync(encoded)


def test_a_video_without_sound(make: Make, edit: Edit) -> None:
    source = make(acodec=None)
    for query in ([("trim", "0.5,2")], [("format", "webm")], [("resize", "80x")]):
        (result,) = edit(source, query)
        assert "audio" not in facts(result).codecs
        assert numbers(result)


def test_a_timestamp_gap_is_kept(make: Make, edit: Edit) -> None:
    spec = Spec(gap_after_seconds=1.0)
    source = make(gap_after_seconds=1.0)
    times = frame_times(spec)
    for query in ([("format", "mkv")], [("resize", "80x")], [("trim", "0.5")]):
        (result,) = edit(source, query)
        got = shown(result)
        first_at, first = got[0]
        assert all(abs((at - first_at) - (times[n] - times[first])) < 0.01 for at, n in got), query
        assert_in_sync(result, specs=[spec])


def test_a_truncated_file_fails_clearly(make: Make, edit: Edit, tmp_path: Path) -> None:
    whole = make(container="mkv").read_bytes()
    truncated = tmp_path / "truncated.mkv"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(EditFailed, match="truncated"):
        edit(truncated, [("format", "mp4")])
    with pytest.raises(EditFailed, match="truncated"):
        edit(truncated, [("resize", "80x")])


def test_an_mp4_cut_short_fails_clearly(make: Make, edit: Edit, tmp_path: Path) -> None:
    whole = make().read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(EditFailed):
        edit(cut, [("trim", "1")])


def test_a_file_that_is_not_video_fails_clearly(edit: Edit, tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    with pytest.raises(EditFailed, match=r"junk\.mp4"):
        edit(junk, [("format", "webm")])


def test_sources_over_the_limits_are_refused(make: Make, edit: Edit) -> None:
    source = make()
    short = Limits(max_pixels=10**6, max_output_side=900, max_video_seconds=2, max_operations=5)
    with pytest.raises(EditFailed, match="at most 2 s"):
        edit(source, [("format", "mkv")], limits=short)
    small = Limits(max_pixels=10_000, max_output_side=900, max_video_seconds=60, max_operations=5)
    with pytest.raises(EditFailed, match=r"the limit is 10,000 \(EDITROOM_MAX_PIXELS\)"):
        edit(source, [("format", "mkv")], limits=small)


@pytest.mark.parametrize(
    "query",
    [
        [("resize", "32x")],  # re-encoded
        [("trim", "1.3,1.8")],  # a smart cut: its head, decoded and re-encoded
        [("trim", "0.5,1.3")],  # ... its tail, frames a copied prefix cannot show
        [("thumbnail", "1.6")],
        [("frames", "best:2")],
    ],
)
def test_frames_growing_past_the_pixel_limit_mid_stream_are_refused(
    edit: Edit, tmp_path: Path, query: list[tuple[str, str]]
) -> None:
    """The header declares 64x48; from 1 s on, the decoder follows a new sequence header."""
    source = tmp_path / "growing.mkv"
    source.write_bytes(growing_video((64, 48), (160, 120), bframes=2, container="matroska"))
    small = Limits(max_pixels=10_000, max_output_side=900, max_video_seconds=60, max_operations=5)
    with pytest.raises(EditFailed) as refused:
        edit(source, query, limits=small)
    assert str(refused.value) == (
        "growing.mkv has a frame of 160x120, 19,200 pixels, though its header declares 64x48; "
        "the limit is 10,000 (EDITROOM_MAX_PIXELS)"
    )


@pytest.mark.parametrize(
    "query", [[("trim", "0.5,2.5")], [("resize", "80x")], [("frames", "best:2")]]
)
def test_progress_rises_to_one(make: Make, edit: Edit, query: list[tuple[str, str]]) -> None:
    seen: list[float] = []
    edit(make(seconds=3.0), query, progress=seen.append)
    assert len({fraction for fraction in seen if 0.0 < fraction < 1.0}) >= 3  # as it goes
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert all(0.0 <= fraction <= 1.0 for fraction in seen)


def test_copy_keeps_b_frame_packets(make: Make, edit: Edit) -> None:
    source = make(bframes=3)
    (result,) = edit(source, [("format", "mov")])
    assert packets(result) == packets(source)
    assert numbers(result) == list(range(72))


def test_a_few_damaged_packets_are_skipped_when_re_encoding(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    data = bytearray(make(container="mkv").read_bytes())
    noise = random.Random(1)
    for _ in range(40):
        at = noise.randrange(len(data) // 4, len(data))
        data[at : at + 8] = noise.randbytes(8)
    damaged = tmp_path / "damaged.mkv"
    damaged.write_bytes(bytes(data))
    (result,) = edit(damaged, [("format", "webm")])
    result_facts = facts(result)
    assert result_facts.codecs == {"video": "vp9", "audio": "opus"}
    assert abs(result_facts.duration - 3.0) < 0.2
    assert len(numbers(result)) > 60


def test_an_encoder_refusing_the_result_names_the_result_not_the_source(
    make: Make, edit: Edit
) -> None:
    """x265 refuses pictures this small: the source was read well, the result cannot be
    made as asked."""
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("resize", "8x"), ("format", "mkv"), ("vcodec", "hevc")])
    assert str(refused.value) == "the result cannot be encoded as hevc at 8x4: Invalid argument"


def test_a_result_that_lost_its_picture_fails_the_edit_not_completes_it(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the pipeline ever to write a video without its picture (a fault of editroom's,
    as a copy trim fed from mid-file once did), the edit fails saying so: only audio=extract
    may make sound alone."""
    source = make()
    extracted = run_edit(
        "video", str(source), _parsed([("audio", "extract")]), str(tmp_path / "a"), LIMITS, {},
        progress=lambda fraction: None,
    )  # fmt: skip
    assert extracted[0].facts.video_codec is None  # sound alone, as asked
    sound = Path(extracted[0].path)
    monkeypatch.setattr(jobs, "edit_video", lambda *args, **kwargs: [Product(sound)])
    wrong = (
        r"the result audio.m4a came out unreadable or incomplete \(the file has no video stream\);"
    )
    with pytest.raises(EditFailed, match=wrong):
        run_edit(
            "video", str(source), _parsed([("trim", "1,2")]), str(tmp_path / "b"), LIMITS, {},
            progress=lambda fraction: None,
        )  # fmt: skip


def _parsed(query: list[tuple[str, str]]) -> list[Operation]:
    return parse_query(catalogue(), MediaKind.VIDEO, query, limits=LIMITS)


@pytest.mark.parametrize(
    "query",
    [[("resize", "32x")], [("format", "webm")], [("speed", "2")]],
)
def test_a_slideshow_whose_start_is_learnt_while_demuxing_is_edited_whole(
    edit: Edit, tmp_path: Path, query: list[tuple[str, str]]
) -> None:
    """One frame every 5 s in Matroska: FFmpeg knows no start when it opens the file and sets
    one while demuxing, to a later packet's time. Times read after it moved were 15 s early:
    a re-encode failed ("ends 20.00 s before the 20.00 s asked for")."""
    source = tmp_path / "slides.mkv"
    write_video(source, container="matroska", acodec=None, seconds=20, fps=Fraction(1, 5))
    (result,) = edit(source, query)
    expected = 10.0 if query[0][0] == "speed" else 20.0
    assert facts(result).duration == pytest.approx(expected, abs=0.6)


def test_a_video_whose_metadata_is_not_utf8_is_edited(edit: Edit, tmp_path: Path) -> None:
    """A Latin-1 title raised UnicodeDecodeError opening the source: an internal error."""
    (result,) = edit(titled_in_latin1(tmp_path / "latin1.mkv"), [("resize", "32x")])
    assert facts(result).size == (32, 24)


@pytest.mark.parametrize(
    "query", [[("format", "mp4")], [("thumbnail", "1.5")], [("trim", "0.5,1.5")]]
)
def test_a_live_recording_without_a_duration_is_edited(
    edit: Edit, tmp_path: Path, query: list[tuple[str, str]]
) -> None:
    """A live WebM (a browser's MediaRecorder's) says no duration: every edit of it failed
    saying it did not say how long it is."""
    (result,) = edit(_live_recording(tmp_path), query)
    if query[0][0] != "thumbnail":
        expected = 1.0 if query[0][0] == "trim" else 2.0
        assert facts(result).duration == pytest.approx(expected, abs=0.1)


def test_a_live_recording_whose_picture_ends_before_its_sound_is_measured_as_its_upload_is(
    tmp_path: Path,
) -> None:
    """1 s of picture, 3 s of sound, no duration in the header: the upload records how far its
    longest stream plays, and an edit given no recorded length (a file no upload checked)
    measured its picture alone, 1 s: the result lost the sound's last 2 s."""
    path = write_video(
        tmp_path / "live.webm", container="webm", vcodec="libvpx-vp9", acodec="libopus",
        seconds=1.0, sound_seconds=3.0, live=True,
    )  # fmt: skip
    recorded = _uploaded(path).duration_seconds
    assert recorded is not None and recorded == pytest.approx(3.0, abs=0.03)
    unmeasured: dict[str, float] = {}
    for lengths in (unmeasured, {str(path): recorded}):
        (result,) = run_edit(
            "video", str(path), _parsed([("format", "mp4")]), str(tmp_path / f"out-{len(lengths)}"),
            LIMITS, {}, lengths, progress=lambda fraction: None,
        )  # fmt: skip
        assert stream_end(Path(result.path), "audio") == pytest.approx(3.0, abs=0.03)


@pytest.mark.parametrize(
    ("source", "query"),
    [
        ("live WebM", [("format", "mp4")]),
        ("live WebM", [("trim", "0.5,1.5")]),
        ("MP4 declaring 0 s", [("format", "webm")]),
        ("MP4 declaring 0 s", [("trim", "0.5,1.5")]),
    ],
)
def test_an_edit_of_a_video_declaring_no_length_takes_the_length_its_upload_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, query: list[tuple[str, str]]
) -> None:
    """The upload reads every packet of a video whose header declares no duration (a live
    WebM; an MP4 whose header says 0 s, which declares nothing) to find how long it plays, and
    records that; each edit read every packet again to find it once more. Given the media's
    recorded duration, as the runner gives it, the edit takes it."""
    made = {"live WebM": _live_recording, "MP4 declaring 0 s": _declaring_no_length}[source]
    path = made(tmp_path)
    recorded = _uploaded(path).duration_seconds
    assert recorded is not None and recorded == pytest.approx(2.0, abs=0.1)
    measured = counted_calls(monkeypatch, video_probe, "_played")
    (result,) = run_edit(
        "video", str(path), _parsed(query), str(tmp_path / "out"), LIMITS, {},
        {str(path): recorded}, progress=lambda fraction: None,
    )  # fmt: skip
    assert measured == []
    expected = 1.0 if query[0][0] == "trim" else 2.0
    assert facts(Path(result.path)).duration == pytest.approx(expected, abs=0.1)


def test_an_edit_measures_a_video_recorded_as_lasting_no_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Uploaded before a header's 0 s counted as no declaration, such an MP4 has 0 s recorded:
    no measurement, so the edit measures how far its picture plays."""
    source = _declaring_no_length(tmp_path)
    measured = counted_calls(monkeypatch, video_probe, "_played")
    (result,) = run_edit(
        "video", str(source), _parsed([("format", "webm")]), str(tmp_path / "out"), LIMITS, {},
        {str(source): 0.0}, progress=lambda fraction: None,
    )  # fmt: skip
    assert len(measured) == 1
    assert facts(Path(result.path)).duration == pytest.approx(2.0, abs=0.1)


@pytest.mark.parametrize(
    ("query", "codec", "size"),
    [
        ([("format", "mp4")], "vp9", (64, 48)),  # copied
        ([("format", "webm")], "vp9", (64, 48)),
        ([("format", "mp4"), ("vcodec", "h264")], "h264", (64, 48)),  # re-encoded
        ([("resize", "32x")], "vp9", (32, 24)),
        ([("format", "gif")], "gif", (64, 48)),
    ],
)
def test_a_live_recording_of_one_frame_is_edited_into_one_frame(
    tmp_path: Path, query: list[tuple[str, str]], codec: str, size: tuple[int, int]
) -> None:
    """Its only packet, at 0 s, says no length: the upload records it as one tick of its time
    base long (1 ms), and END's tolerance (a time rounded to a time base is END) reached back
    to that frame at START: no packet reached the muxer, and the edit failed as an internal
    error (FileNotFoundError on the result's .partial). The frame at START is always in."""
    source = live_at_its_start(tmp_path / "one.webm", frames=1)
    recorded = _uploaded(source).duration_seconds
    assert recorded is not None and recorded == pytest.approx(0.001)
    (result,) = run_edit(
        "video", str(source), _parsed(query), str(tmp_path / "out"), LIMITS, {},
        {str(source): recorded}, progress=lambda fraction: None,
    )  # fmt: skip
    with av.open(result.path) as container:
        assert len(list(container.decode(video=0))) == 1
    assert facts(Path(result.path)).codecs["video"] == codec
    assert facts(Path(result.path)).size == size


@pytest.mark.parametrize("query", [[("format", "mkv")], [("resize", "80x")]])
def test_an_edit_whose_result_gets_no_packet_fails_saying_so(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, query: list[tuple[str, str]]
) -> None:
    """Whatever keeps every packet from the muxer (here the muxer drops them), the result's
    file is never begun: the edit failed as an internal error (FileNotFoundError)."""
    monkeypatch.setattr(Muxer, "mux", lambda muxer, packet: None)
    with pytest.raises(EditFailed, match=r"^the (mkv|mp4) result would have no picture: none "):
        edit(make(acodec=None), query)


def _declaring_no_length(tmp_path: Path) -> Path:
    """A 2 s MP4 whose header says it lasts 0 s."""
    return declaring_no_length_mp4(
        write_video(tmp_path / "zero.mp4", container="mp4", acodec=None, seconds=2.0)
    )


@pytest.mark.parametrize(
    ("query", "size", "frames"),
    [
        ([("trim", "0.5,1.5")], (160, 96), range(12, 36)),
        ([("format", "webm")], (160, 96), range(48)),
        ([("resize", "80x")], (80, 48), None),
        ([("thumbnail", "1")], (160, 96), None),
    ],
    ids=["trim", "format", "resize", "thumbnail"],
)
def test_a_video_whose_cover_art_comes_first_is_edited_not_its_cover(
    tmp_path: Path, make: Make, edit: Edit, query: list[tuple[str, str]],
    size: tuple[int, int], frames: range | None,
) -> None:  # fmt: skip
    """FFmpeg lists an MP4's cover picture as a video stream, here the first. The upload
    checked the first that is not cover art, and an edit read the first of all: the cover (a
    trim failed, a resize kept only the sound, a conversion made a still of the cover)."""
    clip = tmp_path / "clip.mp4"
    shutil.copy(make(seconds=2.0), clip)
    source = with_cover_art_first(clip)
    uploaded = _uploaded(source)
    assert (uploaded.width, uploaded.height, uploaded.video_codec) == (160, 96, "h264")
    (result,) = edit(source, query)
    assert facts(result).size == size
    if frames is not None:
        assert numbers(result) == list(frames)


def _live_recording(tmp_path: Path) -> Path:
    """A live WebM, as a browser's MediaRecorder writes one: 2 s, no duration in its header."""
    return write_video(
        tmp_path / "live.webm",
        container="webm",
        vcodec="libvpx-vp9",
        acodec="libopus",
        seconds=2.0,
        live=True,
    )


def _uploaded(path: Path) -> MediaFacts:
    """What the upload's check records of the file."""
    return upload_probe(path, max_pixels=LIMITS.max_pixels, max_video_seconds=60)


def test_a_matroska_file_cut_in_its_header_fails_clearly_not_retried(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    """FFmpeg says EIO of it: an edit of one stored before the check refused it was retried."""
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(make(container="mkv").read_bytes()[:200])
    with pytest.raises(EditFailed, match=r"cut\.mkv cannot be read as a video"):
        edit(cut, [("format", "mp4")])


def test_a_trim_of_a_part_the_data_never_reaches_fails_saying_so(
    edit: Edit, tmp_path: Path
) -> None:
    """A file cut at 1 s of its 2 (within what the upload check lets pass as whole): a short
    trim past its data muxed nothing, and renaming the result FFmpeg never created came back
    as an internal error (FileNotFoundError)."""
    whole = write_video(tmp_path / "whole.mkv", container="matroska", acodec=None, seconds=2.0)
    with av.open(str(whole)) as container:
        video = container.streams.video[0]
        assert video.time_base is not None
        at = next(
            packet.pos for packet in container.demux(video)
            if packet.pts is not None and packet.pts * video.time_base >= 1.0
        )  # fmt: skip
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[:at])
    with pytest.raises(EditFailed) as refused:
        edit(cut, [("trim", "1.3,1.6")])
    assert str(refused.value) == (
        "cut.mkv has no data from 1.30 s to 1.60 s: the file is truncated or damaged"
    )


def test_streams_opened_of_a_file_without_a_picture_fail_the_edit_naming_it(
    tmp_path: Path,
) -> None:
    """A source probe checked has a picture; should the file read later have none, the edit
    fails saying so, as probe would (an assert said nothing, and python -O dropped it)."""
    sound = write_audio_only(tmp_path / "sound.ogg")
    with av.open(str(sound)) as container, pytest.raises(EditFailed) as failed:
        video_probe.open_streams(container)
    assert str(failed.value) == "sound.ogg has no video stream"
