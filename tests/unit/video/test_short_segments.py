"""Trims of a few milliseconds, START or END within a millisecond of a frame, and the rates
a grid is given by what it joins: every part asked shows the frame on screen there."""

from pathlib import Path
from uuid import uuid4

import av
import pytest

from runner.engine.jobs import run_edit
from runner.engine.ops.base import MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.probe import probe as upload_probe
from runner.engine.video.output import Muxer
from service.kernel.errors import EditFailed
from tests.media import live_at_its_start
from tests.unit.video.conftest import LIMITS, Edit, Make
from tests.unit.video.media import (
    AUDIO_FRAME_SECONDS,
    bursts,
    facts,
    gif_delays_ms,
    numbers,
    packets,
    shown,
    stream_end,
)

Query = list[tuple[str, str]]
RESULTS: dict[str, Query] = {
    "webm": [("format", "webm")],
    "muted webm": [("mute", "true"), ("format", "webm")],
    "gif": [("format", "gif")],
    "mp4 copy": [],
}


def _samples(path: Path) -> int:
    """Samples of sound a reader (FFmpeg) gets from the file."""
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0))


@pytest.mark.parametrize("result", RESULTS)
@pytest.mark.parametrize(
    ("rate", "trim", "frame"),
    [
        (12, "2.999,3", 35),  # the last frame ends at END, 1 ms after START
        (12, "1.001,1.002", 12),  # the frame at 1 s, within the tolerance before START
        (12, "1.04,1.05", 12),  # between two frames, the next 33 ms after END
        (24, "1.01,1.03", 24),
    ],
)
def test_a_trim_of_a_few_milliseconds_shows_the_frame_on_screen(
    make: Make, edit: Edit, result: str, rate: int, trim: str, frame: int
) -> None:
    """Each failed as empty, or made a file without picture: a frame ending exactly 1 ms after
    START counted as ending at START; a frame 1 ms before START counted as at START, placed
    before the result's start and dropped; the frame on screen was left out whenever the
    next came within 0.1 s, even past END."""
    (made,) = edit(make(rate=rate), [("trim", trim), *RESULTS[result]])
    assert numbers(made) == [frame]
    if result == "gif":  # what was asked, in hundredths, one at least: not the frame's 80 ms
        start, end = (float(side) for side in trim.split(","))
        assert gif_delays_ms(made) == [max(10, round((end - start) * 100) * 10)]
    if result in ("webm", "mp4 copy"):
        assert _samples(made) > 0


@pytest.mark.parametrize("trim", ["2.999,3", "1,1.001"])
def test_a_sound_extracted_from_a_millisecond_is_heard(make: Make, edit: Edit, trim: str) -> None:
    """A copy of one AAC packet read as no sound (2.999,3 failed as empty; 1,1.001 had 0
    samples and was done): so short a part's sound is encoded."""
    (made,) = edit(make(rate=12), [("trim", trim), ("audio", "extract")])
    assert made.suffix == ".m4a"
    assert _samples(made) > 0


@pytest.mark.parametrize("result", ["webm", "mp4 copy"])
def test_a_trim_starting_within_a_millisecond_after_a_frame_starts_on_it(
    make: Make, edit: Edit, result: str
) -> None:
    """The frame at 1 s counts as at START 1.001: it was placed 1 ms before the result's start
    and dropped, the result starting on the next frame at 82 ms (an 82 ms hole)."""
    (made,) = edit(make(rate=12), [("trim", "1.001,2"), *RESULTS[result]])
    (first_at, first), (second_at, second) = shown(made)[:2]
    assert (first_at, first, second) == (0.0, 12, 13)
    assert second_at == pytest.approx(1 / 12 - 0.001, abs=0.002)


@pytest.mark.parametrize("query", [[], [("accurate", "false")], [("format", "mkv")]])
@pytest.mark.parametrize("trim", ["3,3.04", "3,3.02"])
def test_a_copied_trim_of_a_last_keyframe_is_not_taken_for_a_truncated_file(
    make: Make, edit: Edit, query: Query, trim: str
) -> None:
    """The source's last frame (3 s, a keyframe: 73 frames, one every 12) copied alone, the
    file ending before END: where its data ended was read from the last packet after the copy
    had moved it onto the result's timeline (0.04 s, not 3.04), and the edit failed with
    "has no data from 3.00 s to 3.04 s: the file is truncated"."""
    source = make(seconds=73 / 24, acodec=None)
    (made,) = edit(source, [("trim", trim), *query])
    assert shown(made) == [(0.0, 72)]


@pytest.mark.parametrize(
    ("query", "cause"),
    [
        ([("format", "webm")], r"none of the source's could be placed in it \(its packets"),
        ([("trim", "1,2"), ("format", "webm")], r"trim=1,2 holds none of it$"),
        ([("trim", "1,2")], r"trim=1,2 holds none of it$"),
    ],
)
def test_a_result_of_sound_without_picture_fails_saying_why(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, query: Query, cause: str
) -> None:
    """Whatever keeps the picture's packets from the muxer (here it drops them), a file of
    sound alone was reported done: only a file without any packet failed, and its words blamed
    the source's timestamps for a trim holding nothing."""
    mux = Muxer.mux
    monkeypatch.setattr(
        Muxer,
        "mux",
        lambda muxer, packet: None if muxer.stream.type == "video" else mux(muxer, packet),
    )
    with pytest.raises(EditFailed, match=rf"^the (webm|mp4) result would have no picture: {cause}"):
        edit(make(), query)


def test_a_gif_asked_past_50_fps_is_held_to_it(make: Make, edit: Edit) -> None:
    """GIF counts in hundredths: at fps=120 frames collided and were pushed on, 2 s lasting
    2.4 s; and browsers show delays under 20 ms as 100 ms."""
    (made,) = edit(make(rate=12), [("trim", "0,2"), ("fps", "120"), ("format", "gif")])
    assert set(gif_delays_ms(made)) == {20}
    assert sum(gif_delays_ms(made)) == 2000


def _parsed(query: Query) -> list[Operation]:
    return parse_query(catalogue(), MediaKind.VIDEO, query, limits=LIMITS)


@pytest.mark.parametrize("one_first", [True, False], ids=["one-frame-first", "one-frame-last"])
def test_a_one_frame_source_joined_leaves_the_rate_to_the_other(
    tmp_path: Path, make: Make, one_first: bool
) -> None:
    """A live WebM of one frame lasts 1 ms, "1000 frames a second": joined with a 12 fps clip
    the result had 1000 (3001 frames for 3 s)."""
    one = live_at_its_start(tmp_path / "one.webm", frames=1)
    clip = make(rate=12, acodec=None)
    first, other = (one, clip) if one_first else (clip, one)
    recorded = upload_probe(one, max_pixels=LIMITS.max_pixels, max_video_seconds=60)
    assert recorded.duration_seconds is not None
    ref = uuid4()
    (made,) = run_edit(
        "video", str(first), _parsed([("concat", str(ref)), ("format", "mp4")]),
        str(tmp_path / "out"), LIMITS, {str(ref): str(other)},
        {str(one): recorded.duration_seconds}, progress=lambda fraction: None,
    )  # fmt: skip
    with av.open(made.path) as container:
        assert container.streams.video[0].average_rate == 12
    assert len(packets(Path(made.path))) == 36
    assert facts(Path(made.path)).duration == pytest.approx(3.0, abs=0.01)


LAST_FRAME_RESULTS: dict[str, Query] = {
    "webm": [("format", "webm")],
    "mp4 copy": [("format", "mp4")],
    "mp4 copy, keyframe cut": [("format", "mp4"), ("accurate", "false")],
    "gif": [("format", "gif")],
}


@pytest.mark.parametrize(
    ("container", "acodec"), [("mkv", "aac"), ("mkv", "libopus"), ("mp4", "aac"), ("mov", "aac")]
)
@pytest.mark.parametrize("result", LAST_FRAME_RESULTS)
def test_a_picture_ending_before_start_holds_its_last_frame_to_end(
    make: Make, edit: Edit, result: str, container: str, acodec: str
) -> None:
    """One 83 ms frame, then 10 s of sound: a frame is on screen until the next, and none
    follows it. `trim=0.1,3` failed ("the webm result would have no picture: trim=0.1,3 holds
    none of it"), the GIF as a truncated file, and a copy from the keyframe at 0 showed the
    frame for its 83 ms alone. An MP4 or a MOV was taken to last its picture's 0.083 s (its
    track's own length; a Matroska's is the file's), and the trim refused as past its end."""
    source = make(seconds=1 / 12, rate=12, container=container, acodec=acodec, sound_seconds=10.0)
    (made,) = edit(source, [("trim", "0.1,3"), *LAST_FRAME_RESULTS[result]])
    # A keyframe cut starts on the keyframe at or before START: the frame's own 0 s.
    start = 0.0 if result == "mp4 copy, keyframe cut" else 0.1
    assert shown(made) == [(0.0, 0)]
    if result == "gif":
        assert gif_delays_ms(made) == [round((3 - start) * 1000)]
        return
    assert stream_end(made) == pytest.approx(3 - start, abs=0.001)
    assert _samples(made) / 48_000 == pytest.approx(3 - start, abs=0.025)
    # The source's sound from START: its bursts at each whole second after it (the one at
    # END, 3 s, may start the last packet copied whole).
    expected = [second - start for second in (0, 1, 2) if second >= start]
    assert bursts(made)[: len(expected)] == pytest.approx(expected, abs=AUDIO_FRAME_SECONDS)


SHORT_PICTURE_SOURCES: dict[str, dict[str, object]] = {
    "mkv": {"container": "mkv"},
    "webm": {"container": "webm", "vcodec": "libvpx-vp9", "acodec": "libopus"},
}


@pytest.mark.parametrize("query", [[("mute", "true")], [("format", "gif")]], ids=["mute", "gif"])
@pytest.mark.parametrize("container", SHORT_PICTURE_SOURCES)
def test_a_whole_source_whose_picture_ends_before_its_sound_is_not_truncated(
    make: Make, edit: Edit, container: str, query: Query
) -> None:
    """2 s of picture, 3 s of sound: the file's length (3.021 s in Matroska, 3.008 s in
    WebM) runs a few ms past the end of its last sound packet. Untrimmed, the sound not used
    was read only to see where the data ends, and that end a few ms short of it failed
    as "ends 1.06 s before the 3.02 s asked for: the file is truncated"."""
    source = make(seconds=2.0, sound_seconds=3.0, **SHORT_PICTURE_SOURCES[container])
    (made,) = edit(source, query)
    assert shown(made)[-1][1] == 47  # the last frame, held to the end
    if query == [("format", "gif")]:
        assert sum(gif_delays_ms(made)) == pytest.approx(3000, abs=30)
    else:
        assert facts(made).duration == pytest.approx(3.0, abs=0.03)


@pytest.mark.parametrize(
    ("query", "end"),
    [
        ([("trim", "0,3")], 3.0),
        ([("format", "webm")], 3.008),  # the file's length: its Opus's, with its pre-skip
        ([("trim", "0,3"), ("format", "mkv")], 3.0),
        ([("resize", "80x")], 3.008),  # re-encoded
    ],
    ids=["trim", "whole", "mkv", "re-encoded"],
)
def test_a_copied_vp9_picture_ending_before_its_sound_holds_its_last_frame_to_end(
    make: Make, edit: Edit, query: Query, end: float
) -> None:
    """1 s of VP9, 3 s of Opus, in WebM: a copy wrote its last frame held to END (Muxer.close)
    but without its length, which Matroska keeps only on a track declaring a default one (a
    VP9 decoder knows no rate to declare it from): the picture was read as ending at 0.958 s,
    where its last frame starts, and players stopped it there. H.264's held."""
    source = make(seconds=1.0, sound_seconds=3.0, **SHORT_PICTURE_SOURCES["webm"])
    (made,) = edit(source, query)
    last_at, last = shown(made)[-1]
    assert last == 23
    assert last_at == pytest.approx(23 / 24, abs=0.001)
    assert stream_end(made) == pytest.approx(end, abs=0.001)
