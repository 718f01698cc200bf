"""Trims of a video whose frames are far apart (a slideshow; a screen recording that makes a
frame only when the screen changes): the picture on screen at START is shown from START,
the last one only until END, and a part between two frames is that frame, not a refusal."""

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.media import write_video
from tests.unit.video.conftest import Edit
from tests.unit.video.media import facts

Slides = Callable[..., Path]
FRAME_TIMING_SECONDS = 0.05  # how far a result's length or a frame's time may be off


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


def _end(path: Path, kind: str) -> float:
    """Where a stream's last packet ends, in seconds."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        assert stream.time_base is not None
        ends = [
            (packet.pts + (packet.duration or 0)) * stream.time_base
            for packet in container.demux(stream)
            if packet.pts is not None
        ]
    return float(max(ends))


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


@pytest.mark.parametrize("trim", ["3,12", "2,4"])
def test_a_trimmed_slideshow_with_sound_keeps_picture_and_sound_the_same_length(
    slides: Slides, edit: Edit, trim: str
) -> None:
    """The picture ran 3 s past the sound (12 s of it for 9 of sound)."""
    (result,) = edit(slides("mkv", "aac"), [("trim", trim)])
    start, end = (float(part) for part in trim.split(","))
    assert _end(result, "video") == pytest.approx(end - start, abs=FRAME_TIMING_SECONDS)
    assert _end(result, "audio") == pytest.approx(end - start, abs=FRAME_TIMING_SECONDS)


def test_a_copy_trim_of_a_slideshow_starts_on_the_keyframe_and_ends_at_end(
    slides: Slides, edit: Edit
) -> None:
    """accurate=false starts on the keyframe at or before START (the first frame, at 0 s: the
    only keyframe) and ends at END: the last slide ran its whole 5 s past it (15 s for 12)."""
    source = slides("mkv")
    (result,) = edit(source, [("trim", "3,12"), ("accurate", "false")])
    assert facts(result).duration == pytest.approx(12.0, abs=FRAME_TIMING_SECONDS)
    assert _slides_shown(result, source) == [(0.0, 0), (5.0, 1), (10.0, 2)]
