"""thumbnail and frames=best:N: stills at the result's size, upright, the right frames."""

import gc
import itertools
from collections.abc import Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from runner.engine.jobs import ProducedFile, run_edit
from runner.engine.ops.base import MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video import reader, stills
from runner.engine.video.best import Candidate, measure
from runner.engine.video.reader import Shot, TimelineReader
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import LIMITS, Edit, Make, counted_calls
from tests.unit.video.media import frame_image, read_number

RATE = 12


@pytest.mark.parametrize(
    ("container", "at", "frame"),
    [("mp4", "1.5", 36), ("ts", "1.25", 30)],  # MPEG-TS: sought without an index, mid-GOP
)
def test_thumbnail_is_the_frame_shown_at_that_time(
    make: Make, edit: Edit, container: str, at: str, frame: int
) -> None:
    (still,) = edit(make(container=container), [("thumbnail", at)])
    assert still.suffix == ".jpg"
    image = _pixels(still)
    assert image.shape == (96, 160, 3)
    assert _number(image) == frame


def test_thumbnail_after_trim_and_resize_is_upright_and_sized(make: Make, edit: Edit) -> None:
    query = [("trim", "1"), ("resize", "48x"), ("thumbnail", "0.5")]
    (still,) = edit(make(rotation=90), query)
    with Image.open(still) as image:
        assert image.size == (48, 80)


def test_thumbnail_past_the_end_fails(make: Make, edit: Edit) -> None:
    with pytest.raises(EditFailed, match="past the end"):
        edit(make(), [("thumbnail", "9")])


def _scenes(path: Path) -> Path:
    """1 s black, 1 s of a sharp warm scene, 1 s blurred, 1 s of a sharp cool scene."""
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for number in range(4 * RATE):
            image = _scene(number // RATE, number)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = number
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def _scene(second: int, number: int) -> np.ndarray:
    texture = frame_image(number, (160, 96))
    if second == 0:
        return np.zeros_like(texture)
    if second == 1:
        return np.ascontiguousarray(texture * np.array([1.0, 0.4, 0.3])).astype(np.uint8)
    if second == 2:
        return cv2.GaussianBlur(texture, (31, 31), 12)
    return np.ascontiguousarray(texture * np.array([0.3, 0.5, 1.0])).astype(np.uint8)


def test_best_frames_are_sharp_exposed_and_from_different_scenes(
    edit: Edit, tmp_path: Path
) -> None:
    stills = edit(_scenes(tmp_path / "scenes.mp4"), [("frames", "best:2")])
    assert [still.name for still in stills] == ["frame-01.jpg", "frame-02.jpg"]
    images = [_pixels(still).astype(float) for still in stills]
    for image in images:
        grey = image.mean(axis=2)
        assert grey.mean() > 40  # not black
        assert cv2.Laplacian(grey, cv2.CV_64F).var() > 200  # not the blurred second
    warm, cool = images
    assert warm[..., 0].mean() > warm[..., 2].mean()  # the warm scene first, in time order
    assert cool[..., 2].mean() > cool[..., 0].mean()


def test_best_frames_give_fewer_when_few_are_good(edit: Edit, tmp_path: Path) -> None:
    stills = edit(_scenes(tmp_path / "scenes.mp4"), [("frames", "best:30")])
    assert 2 <= len(stills) < 30


def test_best_frames_of_a_still_picture_are_one(edit: Edit, tmp_path: Path) -> None:
    """Every frame the same picture: one still, not the same one N times."""
    path = tmp_path / "still.mp4"
    picture = frame_image(7, (160, 96))
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=RATE, options={"g": "6"})
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for number in range(3 * RATE):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = number
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    stills = edit(path, [("frames", "best:3")])
    assert [still.name for still in stills] == ["frame-01.jpg"]


def test_best_frames_of_a_black_video_fail(edit: Edit, tmp_path: Path) -> None:
    path = tmp_path / "black.mp4"
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=RATE)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for number in range(RATE):
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            frame.pts = number
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    with pytest.raises(EditFailed, match="sharp and well exposed"):
        edit(path, [("frames", "best:3")])


def test_the_keyframe_scan_keeps_only_keyframes_whatever_the_decoder_skips(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FFmpeg's VP9 decoder ignores skip_frame: asked for keyframes, it gives every frame."""
    source = make(container="webm", vcodec="libvpx-vp9", acodec=None, gop=24)
    scanned = _scanned(monkeypatch)
    edit(source, [("frames", "best:1")])
    assert scanned == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(("container", "vcodec"), [("webm", "libvpx-vp9"), ("mp4", "libx264")])
def test_the_keyframe_scan_decodes_only_keyframes(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, container: str, vcodec: str
) -> None:
    """Three keyframes in 72 frames: the scan decodes three pictures, not 72 (VP9's decoder,
    asked to skip the frames between, decoded them all)."""
    source = make(container=container, vcodec=vcodec, acodec=None, gop=24)
    decoded = counted_calls(monkeypatch, reader, "check_frame")  # one per frame decoded
    decoded_in_scan: list[int] = []
    keyframes = TimelineReader.keyframes

    def flagged(self: TimelineReader) -> Iterator[Shot]:
        before = len(decoded)
        try:
            yield from keyframes(self)
        finally:
            decoded_in_scan.append(len(decoded) - before)

    monkeypatch.setattr(TimelineReader, "keyframes", flagged)
    edit(source, [("frames", "best:1")])
    assert decoded_in_scan == [3]


def test_best_frames_hold_few_decoded_pictures_however_many_keyframes(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every frame of this video is a keyframe (as in an all-intra one): each candidate is
    judged as it is read and its picture let go, the chosen read again at the end."""
    source = make(gop=1)
    judged: list[float] = []
    held: list[int] = []  # decoded pictures alive, every 24th judgement (counting is slow)

    def counting(at: float, rgb: np.ndarray) -> Candidate:
        if len(judged) % 24 == 23:
            held.append(_alive_pictures())
        judged.append(at)
        return measure(at, rgb)

    monkeypatch.setattr(stills, "measure", counting)
    before = _alive_pictures()  # other tests' leftovers
    assert len(edit(source, [("frames", "best:3")])) == 3
    assert len(judged) >= 72  # every keyframe
    assert held and max(held) - before <= 4


def test_best_frames_decode_a_video_with_one_keyframe_about_twice_not_once_per_candidate(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """600 frames, one keyframe: each candidate read by a seek decoded from the first frame
    again (about 12,000 frames for best:10). Read on from the frame before, the candidates
    decode the video once, the chosen once more."""
    frames = 600
    source = make(
        seconds=10.0, rate=60, size=(64, 32), gop=100_000, acodec=None,
        options=(("sc_threshold", "0"),),
    )  # fmt: skip
    scanned = _scanned(monkeypatch)
    decoded = counted_calls(monkeypatch, reader, "check_frame")
    assert len(edit(source, [("frames", "best:10")])) == 10
    assert scanned == [0.0]
    assert 1 + frames <= len(decoded) <= 2 * frames + 24


def test_best_frames_read_on_are_the_frames_a_seek_for_each_gives(
    read_on_source: Path, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = [("trim", "0.5,3.5"), ("frames", "best:10")]
    read_on = [path.read_bytes() for path in edit(read_on_source, query)]
    monkeypatch.setattr(reader._Keyframes, "none_between", lambda *args: False)
    assert [path.read_bytes() for path in edit(read_on_source, query)] == read_on


def _alive_pictures() -> int:
    gc.collect()
    return sum(isinstance(thing, av.VideoFrame) for thing in gc.get_objects())


def _scanned(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The times of the frames the keyframe scan yields, as they are yielded."""
    seen: list[float] = []
    keyframes = TimelineReader.keyframes

    def recording(reader: TimelineReader) -> Iterator[Shot]:
        for shot in keyframes(reader):
            seen.append(round(shot.at, 3))
            yield shot

    monkeypatch.setattr(TimelineReader, "keyframes", recording)
    return seen


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _number(image: np.ndarray) -> int:
    return read_number(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"))


def _run(source: Path, query: list[tuple[str, str]], out: Path) -> list[ProducedFile]:
    """The edit as the runner's child runs it: the video's pipeline, then the image's."""
    operations = parse_query(catalogue(), MediaKind.VIDEO, query, limits=LIMITS)
    done: list[float] = []
    produced = run_edit(
        "video", str(source), operations, str(out), LIMITS, {}, progress=done.append
    )
    assert done == sorted(done) and done[-1] == 1.0
    return produced


def test_a_thumbnail_records_the_time_it_shows(make: Make, tmp_path: Path) -> None:
    (still,) = _run(make(), [("thumbnail", "1.5")], tmp_path / "out")
    assert still.facts.content_type == "image/jpeg"
    assert still.source_seconds == pytest.approx(1.5, abs=1 / 24)


def test_a_thumbnail_after_a_trim_records_the_sources_time(make: Make, tmp_path: Path) -> None:
    (still,) = _run(make(), [("trim", "1,3"), ("thumbnail", "0.5")], tmp_path / "out")
    assert still.source_seconds == pytest.approx(1.5, abs=1 / 24)


def test_image_operations_after_a_thumbnail_run_on_the_still(make: Make, tmp_path: Path) -> None:
    query = [("thumbnail", "1.5"), ("resize", "80x"), ("format", "webp"), ("quality", "80")]
    (still,) = _run(make(), query, tmp_path / "out")
    assert (still.facts.content_type, still.facts.width, still.facts.height) == (
        "image/webp", 80, 48,
    )  # fmt: skip
    assert Path(still.path).suffix == ".webp"
    assert still.source_seconds == pytest.approx(1.5, abs=1 / 24)
    with Image.open(still.path) as image:
        upscaled = image.convert("RGB").resize((160, 96))
    assert _number(np.asarray(upscaled)) == 36  # the frame at 1.5 s, through the resize


def test_image_operations_run_on_every_best_frame(tmp_path: Path) -> None:
    query = [("frames", "best:2"), ("resize", "80x"), ("flip", "h")]
    warm, cool = _run(_scenes(tmp_path / "scenes.mp4"), query, tmp_path / "out")
    for still in (warm, cool):  # JPEG as the stills are, unless a format says otherwise
        assert (still.facts.content_type, still.facts.width, still.facts.height) == (
            "image/jpeg", 80, 48,
        )  # fmt: skip
    assert warm.source_seconds is not None and cool.source_seconds is not None
    assert 1 <= warm.source_seconds < 2 and 3 <= cool.source_seconds < 4  # the sharp scenes


def test_best_frames_after_a_speed_spread_over_the_result(
    make: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """speed=2 makes this 4 s video a 2 s result: the stills keep the spacing frames=best asks
    on the result (a third of its share for each still), and each records the source's time
    of the picture it shows. One scene, judged sharpest at 2 s of the source and less the
    further from it, so only the spacing keeps the chosen apart."""

    def sharpest_at_two_seconds(at: float, rgb: np.ndarray) -> Candidate:
        distance = abs(_number(rgb) - 2 * 24)
        flat = np.full(8, 1 / 8, dtype=np.float32)  # alike colours: one scene
        return Candidate(at, sharpness=1000.0 - 10 * distance, mean=128, std=48, histogram=flat)

    monkeypatch.setattr(stills, "measure", sharpest_at_two_seconds)
    query = [("speed", "2"), ("frames", "best:4")]
    produced = _run(make(seconds=4.0, acodec=None), query, tmp_path / "out")
    assert len(produced) == 4
    for still in produced:
        assert still.source_seconds is not None and 0 <= still.source_seconds < 4
        assert _number(_pixels(Path(still.path))) == round(still.source_seconds * 24)
    on_result = [still.source_seconds / 2 for still in produced if still.source_seconds is not None]
    gaps = [later - earlier for earlier, later in itertools.pairwise(on_result)]
    assert min(gaps) >= 2 / (3 * 4) - 1 / 48  # choose's gap, less a frame of the result
