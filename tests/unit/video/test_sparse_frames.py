"""Videos whose frames are far apart (a slideshow; a screen recording that makes a frame only
when the screen changes). Trimmed: the picture on screen at START is shown from START, the
last one only until END, and a part between two frames is that frame, not a refusal. Sped
up or slowed down alone: each frame at its own time divided by the speed, the one on screen
at START from the start. Put on a grid (concat, frames too fast for it): each frame in the
slot of its time, none dropped for a grid as sparse as the frames, each shown until the next
however far."""

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from uuid import uuid4

import av
import numpy as np
import pytest

from tests.media import write_video
from tests.unit.video.conftest import Edit, Make
from tests.unit.video.media import facts, gif_delays_ms, shown, stream_end

Slides = Callable[..., Path]
FRAME_TIMING_SECONDS = 0.05  # how far a result's length or a frame's time may be off
GIF_DELAY_MS = 10  # a GIF times its frames in hundredths of a second
SCREEN_FRAMES_MS = (0, 40, 80, 3000, 3040, 3080, 3120, 6000)  # when the screen changed


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory) -> Slides:
    """20 s, one frame every 5 s (at 0, 5, 10 and 15 s), made once per container and sound."""
    made: dict[tuple[str, str | None], Path] = {}
    folder = tmp_path_factory.mktemp("slides")

    def _slides(container: str = "mkv", acodec: str | None = None) -> Path:
        if (container, acodec) not in made:
            path = folder / f"slides-{acodec}.{container}"
            kind = "matroska" if container == "mkv" else container
            write_video(path, container=kind, acodec=acodec, seconds=20, fps=Fraction(1, 5))
            made[container, acodec] = path
        return made[container, acodec]

    return _slides


def _pictures(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as container:
        return [
            (frame.time or 0.0, frame.to_ndarray(format="gray").astype(np.int16))
            for frame in container.decode(video=0)
        ]


def _slides_shown(result: Path, source: Path) -> list[tuple[float, int]]:
    """When each of the result's frames is shown, and which of the source's it is (the one
    it looks most like: each slide is the picture turned a quarter more)."""
    slides = [picture for _, picture in _pictures(source)]
    return [
        (round(at, 2), int(np.argmin([np.abs(picture - slide).mean() for slide in slides])))
        for at, picture in _pictures(result)
    ]


@pytest.mark.parametrize(
    ("container", "query"),
    [("mkv", []), ("mp4", []), ("mkv", [("format", "webm")])],
)
def test_an_accurate_trim_of_a_slideshow_shows_from_start_to_end_what_was_on_screen(
    slides: Slides, edit: Edit, container: str, query: list[tuple[str, str]]
) -> None:
    """trim=3,12: the slide from 0 s is on screen at 3 s, those from 5 and 10 s follow, and the
    last is shown until 12 s. The first was left out (the result started at 2 s) and the last
    shown its whole 5 s: 12 s long in Matroska, 10 s in MP4, for 9 asked."""
    source = slides(container)
    (result,) = edit(source, [("trim", "3,12"), *query])
    assert facts(result).duration == pytest.approx(9.0, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == [(0.0, 0), (2.0, 1), (7.0, 2)]


@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_a_trim_between_two_slides_is_the_slide_on_screen_then(
    slides: Slides, edit: Edit, container: str
) -> None:
    """trim=2,4, no frame starting within it, was refused: "has no data from 2.00 s to 4.00 s:
    the file is truncated or damaged"."""
    source = slides(container)
    (result,) = edit(source, [("trim", "2,4")])
    assert facts(result).duration == pytest.approx(2.0, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == [(0.0, 0)]


@pytest.mark.parametrize(("trim", "seconds"), [("16,19", 3.0), ("16", 4.0)])
@pytest.mark.parametrize("container", ["mkv", "mp4"])
def test_a_re_encoded_trim_within_the_last_slide_is_that_slide(
    slides: Slides, edit: Edit, container: str, trim: str, seconds: float
) -> None:
    """No frame follows the one on screen at START (from 15 s, shown until 20 s): re-encoded,
    it was left out, its length read in the frame's own time base, which a frame decoded from
    a stream lacks, and the edit failed with no frame to write (a FileNotFoundError)."""
    source = slides(container)
    (result,) = edit(source, [("trim", trim), ("format", "webm")])
    assert facts(result).duration == pytest.approx(seconds, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == [(0.0, 3)]


@pytest.mark.parametrize("trim", ["3,12", "2,4"])
def test_a_trimmed_slideshow_with_sound_keeps_picture_and_sound_the_same_length(
    slides: Slides, edit: Edit, trim: str
) -> None:
    """The picture ran 3 s past the sound (12 s of it for 9 of sound)."""
    (result,) = edit(slides("mkv", "aac"), [("trim", trim)])
    start, end = (float(part) for part in trim.split(","))
    assert stream_end(result, "video") == pytest.approx(end - start, abs=FRAME_TIMING_SECONDS)
    assert stream_end(result, "audio") == pytest.approx(end - start, abs=FRAME_TIMING_SECONDS)


def test_a_copy_trim_of_a_slideshow_starts_on_the_keyframe_and_ends_at_end(
    slides: Slides, edit: Edit
) -> None:
    """accurate=false starts on the keyframe at or before START (the first frame, at 0 s: the
    only keyframe) and ends at END: the last slide ran its whole 5 s past it (15 s for 12)."""
    source = slides("mkv")
    (result,) = edit(source, [("trim", "3,12"), ("accurate", "false")])
    assert facts(result).duration == pytest.approx(12.0, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == [(0.0, 0), (5.0, 1), (10.0, 2)]


@pytest.mark.parametrize(
    ("trim", "delays_ms", "expected"),
    [
        ("2,4", [2000], [(0.0, 0)]),
        ("3,12", [2000, 5000, 2000], [(0.0, 0), (2.0, 1), (7.0, 2)]),
        ("16,19", [3000], [(0.0, 3)]),
    ],
)
def test_a_gif_of_part_of_a_slideshow_shows_each_slide_its_time_within_the_trim(
    slides: Slides, edit: Edit, trim: str, delays_ms: list[int], expected: list[tuple[float, int]]
) -> None:
    """A GIF was put on the slides' own grid, a slot every 5 s, in which its frames were timed
    too: trim=2,4 lasted the slide's whole 5 s, trim=3,12 two slots (10 s), the slide on
    screen at 3 s left out for the one 2 s later, which took its slot."""
    source = slides("mkv")
    (result,) = edit(source, [("trim", trim), ("format", "gif")])
    assert gif_delays_ms(result) == delays_ms
    assert _slides_shown(result, source) == expected


@pytest.mark.parametrize(
    ("trim", "fps", "expected"),
    [("3,12", "2", [(0.0, 0), (2.0, 1), (7.0, 2)]), ("3,7.5", "3", [(0.0, 0), (2.0, 1)])],
)
def test_a_gif_of_part_of_a_slideshow_at_a_rate_asked_lasts_the_trim(
    slides: Slides, edit: Edit, trim: str, fps: str, expected: list[tuple[float, int]]
) -> None:
    """fps=3 of 4.5 s is 13.5 slots: the last slot is shown until END, half its time (the GIF
    was 14 slots, 4.67 s, its frames timed in slots)."""
    source = slides("mkv")
    (result,) = edit(source, [("trim", trim), ("fps", fps), ("format", "gif")])
    start, end = (float(part) for part in trim.split(","))
    assert sum(gif_delays_ms(result)) == pytest.approx((end - start) * 1000, abs=GIF_DELAY_MS)
    assert _changes(_slides_shown(result, source)) == expected


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A screen recording in Matroska: frames only when the screen changed, each a grey of its
    own; the container says each lasts 40 ms (its rate, 25 fps), as a recorder's may."""
    return _record(tmp_path_factory.mktemp("recording") / "screen.mkv", "matroska")


@pytest.fixture(scope="module")
def recording_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The screen recording in MP4, whose average rate is its 8 frames over 6.04 s."""
    return _record(tmp_path_factory.mktemp("recording") / "screen.mp4", "mp4")


def _record(path: Path, container: str) -> Path:
    with av.open(str(path), "w", format=container) as output:
        video = output.add_stream("libx264", rate=25)
        assert isinstance(video, av.VideoStream)
        video.width, video.height, video.pix_fmt = 32, 16, "yuv420p"
        video.codec_context.time_base = Fraction(1, 1000)
        # Frames in the order shown, as a recorder encodes them: an MP4's length is counted
        # from decoding times, which a reordering encoder takes from earlier frames.
        video.codec_context.options = {"preset": "ultrafast"}
        for number, at in enumerate(SCREEN_FRAMES_MS):
            grey = np.full((16, 32, 3), number * 30, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(grey, format="rgb24")
            frame.pts, frame.time_base = at, Fraction(1, 1000)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    return path


@pytest.mark.parametrize(
    ("trim", "expected"),
    [("1,2", [(0.0, 2)]), ("1,3.5", [(0.0, 2), (2.0, 3), (2.04, 4), (2.08, 5), (2.12, 6)])],
)
def test_a_trim_of_a_screen_recording_shows_each_frame_until_the_next(
    recording: Path, edit: Edit, trim: str, expected: list[tuple[float, int]]
) -> None:
    """A frame is on screen until the next, whatever its 40 ms in the container say: the last
    frame before END lasts until END when the next comes at or after it (trim=1,2 was 0.04 s
    of the frame of 0.08 s, trim=1,3.5 was 2.16 s)."""
    (result,) = edit(recording, [("trim", trim)])
    start, end = (float(part) for part in trim.split(","))
    assert facts(result).duration == pytest.approx(end - start, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, recording) == expected


def _changes(shown: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """When the picture changes, and to which slide (a grid repeats a frame in its slots)."""
    return [
        (at, slide) for i, (at, slide) in enumerate(shown) if i == 0 or shown[i - 1][1] != slide
    ]


@pytest.mark.parametrize(
    ("container", "query"), [("mkv", []), ("mp4", []), ("mkv", [("format", "gif")])]
)
def test_a_slideshow_sped_up_shows_every_slide_for_its_share(
    slides: Slides, edit: Edit, container: str, query: list[tuple[str, str]]
) -> None:
    """speed=2 of one slide every 5 s: each slide for 2.5 s. The result was put on the
    source's grid, one frame every 5 s, which kept every other slide (GIF alike)."""
    source = slides(container)
    (result,) = edit(source, [("speed", "2"), *query])
    assert facts(result).duration == pytest.approx(10.0, abs=FRAME_TIMING_SECONDS)
    assert _changes(_slides_shown(result, source)) == [(0.0, 0), (2.5, 1), (5.0, 2), (7.5, 3)]


SPED_TRIMS = {  # trim=3,12 of a slide every 5 s: the slides shown, when, and for how long
    "2": ([(0.0, 0), (1.0, 1), (3.5, 2)], [1000, 2500, 1000]),
    "0.5": ([(0.0, 0), (4.0, 1), (14.0, 2)], [4000, 10000, 4000]),
}


@pytest.mark.parametrize("speed", ["2", "0.5"])
@pytest.mark.parametrize(
    ("container", "query"),
    [("mkv", []), ("mp4", []), ("mkv", [("format", "webm")]), ("mkv", [("format", "gif")])],
    ids=["mkv", "mp4", "webm", "gif"],
)
def test_a_trimmed_slideshow_sped_up_or_slowed_down_starts_on_the_slide_on_screen_at_start(
    slides: Slides, edit: Edit, container: str, query: list[tuple[str, str]], speed: str
) -> None:
    """trim=3,12&speed=2: the slide of 0 s is on screen at 3 s, shown from the start for 1 s,
    then those of 5 and 10 s, 4.5 s in all. The result was put on a grid of the slides' rate
    sped up, from its start: 2.5 s slots, on which the slides' times (0, 1 and 3.5 s) do not
    lie; the slide of 0 s lost its slot to the one of 5 s, and the last slot ran past END
    (5.0 s in Matroska, MP4 and WebM; the GIF lasted 4.5 s, without that slide). speed=0.5:
    the slides came at 5 and 15 s for 4 and 14, the result 20 s long for 18."""
    source = slides(container)
    (result,) = edit(source, [("trim", "3,12"), ("speed", speed), *query])
    assert facts(result).duration == pytest.approx(9 / float(speed), abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == SPED_TRIMS[speed][0]


@pytest.mark.parametrize("speed", ["2", "0.5"])
def test_a_gif_of_a_trimmed_slideshow_sped_up_shows_each_slide_its_share(
    slides: Slides, edit: Edit, speed: str
) -> None:
    """Its delays: 1 s of the slide on screen at START, 2.5 s of the next, 1 s of the last
    (the first was left out: 2.5 s of the slide of 5 s, 2 s of that of 10 s)."""
    (result,) = edit(slides("mkv"), [("trim", "3,12"), ("speed", speed), ("format", "gif")])
    assert gif_delays_ms(result) == SPED_TRIMS[speed][1]


@pytest.mark.parametrize("speed", [2.0, 0.5])
def test_a_trimmed_slideshow_with_sound_sped_up_keeps_picture_and_sound_the_same_length(
    slides: Slides, edit: Edit, speed: float
) -> None:
    """The sound lasted (END - START) / speed, the picture to the grid's next slot: 5 s of it
    for 4.5 of sound at speed=2, 20 s for 18 at speed=0.5."""
    (result,) = edit(slides("mkv", "aac"), [("trim", "3,12"), ("speed", str(speed))])
    assert stream_end(result, "video") == pytest.approx(9 / speed, abs=FRAME_TIMING_SECONDS)
    assert stream_end(result, "audio") == pytest.approx(9 / speed, abs=FRAME_TIMING_SECONDS)


def test_a_screen_recording_sped_up_keeps_each_frame_at_its_time(
    recording_mp4: Path, edit: Edit
) -> None:
    """speed=2 puts frames on a 25 fps grid, the rate the recording's frames are timed at, as
    FFmpeg's fps filter would (the nearest slot, the later of two kept). Its average, 1.3 fps
    (8 frames in 6.04 s), made a grid of 0.75 s slots: the frames of 0 to 0.04 s shown as one,
    those of 1.5 to 1.56 s too, at 1.51 s, and the last left out."""
    (result,) = edit(recording_mp4, [("speed", "2")])
    expected = [(0.0, 0), (0.04, 2), (1.52, 4), (1.56, 6), (3.0, 7)]
    assert _changes(_slides_shown(result, recording_mp4)) == expected


def test_a_slideshow_then_a_video_keeps_the_videos_motion(
    slides: Slides, make: Make, edit: Edit
) -> None:
    """The result was put on the first part's grid, one frame every 5 s: the 2 s video after
    the slides fell between two slots and was left out, the result 20 s long for 22."""
    clip, other = make(seconds=2.0, acodec=None), uuid4()
    (result,) = edit(slides("mkv"), [("concat", str(other))], others={other: clip})
    assert facts(result).duration == pytest.approx(22.0, abs=FRAME_TIMING_SECONDS)
    after = [(round(at, 3), number) for at, number in shown(result) if at >= 20 - 0.001]
    assert after == [(round(20 + n / 24, 3), n) for n in range(48)]


def test_a_slide_longer_than_ten_seconds_is_shown_its_whole_time_on_a_grid(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    """2 s of video, then slides 12 s apart, on the video's 24 fps grid: the frame before a gap
    was repeated for 10 s at most, and the slide after it filled the rest, shown 2 s early."""
    slides = tmp_path / "slow-slides.mkv"
    write_video(slides, container="matroska", acodec=None, seconds=24, fps=Fraction(1, 12))
    clip, other = make(seconds=2.0, size=(64, 48), acodec=None), uuid4()
    (result,) = edit(clip, [("concat", str(other))], others={other: slides})
    assert facts(result).duration == pytest.approx(26.0, abs=FRAME_TIMING_SECONDS)
    shown_after = [(at, slide) for at, slide in _slides_shown(result, slides) if at >= 2 - 0.001]
    assert _changes(shown_after) == [(2.0, 0), (14.0, 1)]
