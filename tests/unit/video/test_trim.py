"""trim: copy-only cuts keep the source's packets, accurate cuts start and end on the asked
frames by re-encoding only partial GOPs, and the sound stays with the picture."""

from __future__ import annotations

import threading
from fractions import Fraction
from pathlib import Path
from urllib.parse import parse_qsl
from uuid import uuid4

import av
import pytest
from av.packet import Packet
from av.stream import Stream

from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video import copy, recode
from runner.engine.video.operations import VIDEO_OPERATIONS
from runner.engine.video.plan import make_plan
from runner.engine.video.probe import probe
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make
from tests.unit.video.media import (
    Spec,
    assert_in_sync,
    facts,
    frame_image,
    numbers,
    packets,
    shown,
)

RATE = 24


def is_run_of(part: list[bytes], whole: list[bytes]) -> bool:
    start = whole.index(part[0])
    return part == whole[start : start + len(part)]


def test_copy_trim_starts_on_the_keyframe_before_and_copies_packets(make: Make, edit: Edit) -> None:
    source = make(bframes=2)
    (result,) = edit(source, [("trim", "1.2,2.5"), ("accurate", "false")])
    got = numbers(result)
    assert got[0] == 24  # keyframes every 12 frames: 1.0 s is the one before 1.2 s
    assert got == list(range(24, 24 + len(got)))
    assert got[-1] in (57, 58, 59)  # up to 2.5 s, less B-frames that need what follows
    assert is_run_of(packets(result), packets(source))  # byte for byte: not re-encoded
    assert is_run_of(packets(result, "audio"), packets(source, "audio"))
    assert facts(result).codecs == {"video": "h264", "audio": "aac"}
    assert_in_sync(result)


def test_a_copy_trim_of_mpeg_ts_starts_on_the_last_keyframe_before(make: Make, edit: Edit) -> None:
    """MPEG-TS has no index: a seek by time may land a GOP early, or one too late."""
    (result,) = edit(make(bframes=2, container="ts"), [("trim", "1.2,2.5"), ("accurate", "false")])
    got = numbers(result)
    assert got[0] == 24
    assert got == list(range(24, 24 + len(got)))


@pytest.mark.parametrize("container", ["mp4", "ts"])
def test_a_copy_trim_whose_keyframe_is_the_first_starts_there(
    make: Make, edit: Edit, container: str
) -> None:
    """The keyframe before START is the video's first: the cut is fed from the file's start,
    not from wherever the look for that keyframe stopped reading."""
    source = make(bframes=2, gop=240, container=container)  # one keyframe: the first frame
    (result,) = edit(source, [("trim", "1,2.5"), ("accurate", "false")])
    got = numbers(result)
    assert got[0] == 0
    assert got == list(range(len(got)))
    assert got[-1] in (57, 58, 59)
    assert_in_sync(result)


@pytest.mark.parametrize(
    ("bframes", "container"), [(0, "mp4"), (2, "mp4"), (2, "mkv"), (3, "mov"), (0, "ts"), (2, "ts")]
)
def test_accurate_trim_starts_and_ends_on_the_asked_frames(
    make: Make, edit: Edit, bframes: int, container: str
) -> None:
    source = make(bframes=bframes, container=container)
    (result,) = edit(source, [("trim", "1.25,2.5")])  # 1.25 s is frame 30, mid-GOP
    assert numbers(result) == list(range(30, 60))
    result_facts = facts(result)
    assert result_facts.codecs == {"video": "h264", "audio": "aac"}
    assert abs(result_facts.duration - 1.25) < 0.05
    assert abs(result_facts.video_start) < 0.01
    assert_in_sync(result)


def test_accurate_trim_copies_everything_after_the_first_keyframe(make: Make, edit: Edit) -> None:
    source = make(bframes=2)
    (result,) = edit(source, [("trim", "1.25")])  # to the end
    copied, original = packets(result), packets(source)
    # Frames 30-35 are re-encoded; frame 36 (1.5 s) is the next keyframe, and the 36th
    # packet in decode order: from there on every packet is the source's, the keyframe
    # with the source's parameter sets written in front of it.
    assert copied[6].endswith(original[36])
    assert copied[7:] == original[37:]
    assert numbers(result) == list(range(30, 72))
    assert_in_sync(result)


def test_trim_on_a_keyframe_needs_no_re_encoding(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("trim", "1.0,2.0")])
    original = packets(source)
    assert packets(result) == original[24:48]
    assert numbers(result) == list(range(24, 48))
    assert_in_sync(result)


def test_trim_inside_one_gop_is_re_encoded_whole(make: Make, edit: Edit) -> None:
    (result,) = edit(make(bframes=2), [("trim", "0.25,0.4")])
    assert numbers(result) == [6, 7, 8, 9]


def test_vp9_webm_smart_cut(make: Make, edit: Edit) -> None:
    spec = Spec(container="webm", vcodec="libvpx-vp9", acodec="libopus")
    source = make(container="webm", vcodec="libvpx-vp9", acodec="libopus")
    (result,) = edit(source, [("trim", "0.5,2")])
    assert numbers(result) == list(range(12, 48))
    assert facts(result).codecs == {"video": "vp9", "audio": "opus"}
    assert packets(result)[-12:] == packets(source)[36:48]
    assert_in_sync(result, specs=[spec])


def test_trim_after_concat_cuts_the_joined_timeline(make: Make, edit: Edit) -> None:
    source = make()
    other = uuid4()
    (result,) = edit(source, [("concat", str(other)), ("trim", "2.5,3.5")], others={other: source})
    got = numbers(result)
    assert got == [*range(60, 72), *range(12)]  # the end of one copy, the start of the next
    assert_in_sync(result, specs=[Spec(), Spec()])


def test_hevc_smart_cut(make: Make, edit: Edit) -> None:
    source = make(vcodec="libx265", seconds=2.0, options=(("x265-params", "log-level=error"),))
    (result,) = edit(source, [("trim", "0.25,1.5")])
    assert facts(result).codecs == {"video": "hevc", "audio": "aac"}
    assert numbers(result) == list(range(6, 36))
    assert packets(result)[-12:] == packets(source)[24:36]
    assert_in_sync(result)


def test_a_codec_without_smart_cut_is_re_encoded_when_cut(make: Make, edit: Edit) -> None:
    source = make(vcodec="libsvtav1", container="mkv", seconds=1.5, options=(("preset", "12"),))
    (result,) = edit(source, [("trim", "0,1")])
    assert facts(result).codecs == {"video": "av1", "audio": "aac"}
    assert numbers(result) == list(range(24))
    assert_in_sync(result)
    (whole,) = edit(source, [("format", "mp4")])
    assert packets(whole) == packets(source)
    assert_in_sync(whole)


def test_a_trim_past_the_end_fails_naming_the_videos_duration(make: Make, edit: Edit) -> None:
    with pytest.raises(EditFailed) as failed:
        edit(make(), [("trim", "5")])
    assert str(failed.value) == "trim starts at 5 s, after the end of the 3 s video"


@pytest.mark.parametrize(
    ("container", "vcodec"), [("webm", "libvpx-vp9"), ("mp4", "libx264"), ("mkv", "libx264")]
)
@pytest.mark.parametrize(("start", "end"), [(0.2, 1.0), (0.3, 1.5), (1.0, 1.8), (0.5, 2.0)])
def test_accurate_trim_lasts_what_was_asked_at_10_fps(
    make: Make, edit: Edit, container: str, vcodec: str, start: float, end: float
) -> None:
    """A cut from 0.2 to 1.0 s of a 10 fps clip is 8 frames lasting 0.8 s (Matroska measures
    the last frame too: a re-encoded piece must say how long its frames last)."""
    source = make(rate=10, container=container, vcodec=vcodec, acodec=None, seconds=2.0)
    (result,) = edit(source, [("trim", f"{start:g},{end:g}")])
    wanted = round((end - start) * 10)
    assert numbers(result) == list(range(round(start * 10), round(end * 10)))
    assert len(numbers(result)) == wanted
    assert facts(result).duration == pytest.approx(end - start, abs=0.01)


# Irregular gaps (every third 0.35 s, the others 0.25 s): an MPEG-TS demuxer then gives its
# packets no duration. Fixed B-frames, none a reference: frames 1-2, 4-5, ... are disposable.
IRREGULAR_SECONDS = [round(0.25 * n + 0.1 * (n // 3), 2) for n in range(16)]


def _b_frames_without_durations(path: Path) -> Path:
    with av.open(str(path), "w", format="mpegts") as output:
        video = output.add_stream("libx264")
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = 160, 96, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        video.codec_context.gop_size = 8
        video.codec_context.options = {
            "preset": "veryfast", "bf": "2", "x264-params": "b-adapt=0:b-pyramid=none",
        }  # fmt: skip
        for number, at in enumerate(IRREGULAR_SECONDS):
            frame = av.VideoFrame.from_ndarray(frame_image(number, (160, 96)), format="rgb24")
            frame.pts, frame.time_base = round(at * 1000), Fraction(1, 1000)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    return path


def test_a_b_frame_on_screen_at_start_without_a_duration_is_shown_from_start(
    edit: Edit, tmp_path: Path
) -> None:
    """trim=1.45,3: frame 5 (a disposable B-frame, shown from 1.35 s) is on screen at START
    and the next comes 0.25 s after it. Its packet had no duration, so the smart cut took it
    for a frame over before START, never decoded it, and opened on frame 3 instead."""
    source = _b_frames_without_durations(tmp_path / "b-frames.ts")
    with av.open(str(source)) as container:
        assert not any(p.duration for p in container.demux(video=0) if p.size)
    (result,) = edit(source, [("trim", "1.45,3")])
    assert facts(result).codecs["video"] == "h264"
    assert [(round(at, 2), number) for at, number in shown(result)] == [
        (0.0, 5), (0.25, 6), (0.5, 7), (0.75, 8), (1.1, 9), (1.35, 10),
    ]  # fmt: skip


def test_the_head_is_re_encoded_on_a_thread_of_its_own(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the head of an accurate cut is decoded and re-encoded, the demuxing thread goes
    on copying (the copied packets wait to be muxed after the head)."""
    threads: set[int] = set()
    decode_head = copy.VideoCopy._decode_head

    def noting(self: copy.VideoCopy, packet: Packet[Stream]) -> None:
        threads.add(threading.get_ident())
        decode_head(self, packet)

    monkeypatch.setattr(copy.VideoCopy, "_decode_head", noting)
    (result,) = edit(make(bframes=2), [("trim", "1.25,2.5")])
    assert numbers(result) == list(range(30, 60))
    assert threads and threading.get_ident() not in threads


@pytest.mark.parametrize("pending", [0, 1, 3])
def test_copied_packets_held_for_the_head_are_bounded_and_kept_in_order(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, pending: int
) -> None:
    """Past MAX_PENDING_PACKETS the copy waits for the head instead of holding more; the
    result is the same frames in the same order either way."""
    monkeypatch.setattr(copy, "MAX_PENDING_PACKETS", pending)
    source = make(bframes=2, container="mkv")
    (result,) = edit(source, [("trim", "1.25,2.9")])
    assert numbers(result) == list(range(30, 70))
    assert_in_sync(result)


def test_a_head_that_fails_fails_the_edit(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error on the head's thread is raised again in the edit's."""

    def broken(self: recode.Piece, frame: object) -> None:
        raise EditFailed("the encoder refused a frame")

    monkeypatch.setattr(recode.Piece, "add", broken)
    with pytest.raises(EditFailed, match="the encoder refused a frame"):
        edit(make(bframes=2), [("trim", "1.25,2.5")])


PLAN_LIMITS = Limits(
    max_pixels=10**8, max_output_side=4000, max_video_seconds=600, max_operations=8
)


# The example of each operation said to keep the duration, but crop's, which reaches
# outside the test's source.
FITTING = {"crop": "crop=8,8,64,48"}


@pytest.mark.parametrize(
    "operation",
    [op for op in VIDEO_OPERATIONS if op.keeps_duration],
    ids=lambda op: op.name,
)
def test_an_operation_said_to_keep_the_duration_keeps_it(
    make: Make, operation: type[Operation]
) -> None:
    """keeps_duration lets a trim after it be judged at enqueue by the source's duration
    (service/domain/source_facts.py): the plan must agree that it keeps it."""
    source = probe(make(), limits=PLAN_LIMITS)
    written = FITTING.get(operation.name, operation.example)
    items = parse_qsl(written, keep_blank_values=True)
    operations = parse_query(catalogue(), MediaKind.VIDEO, items, limits=PLAN_LIMITS)
    plan = make_plan(source, operations, others={}, limits=PLAN_LIMITS)
    assert plan.duration == pytest.approx(source.duration)
