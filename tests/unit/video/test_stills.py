"""thumbnail and frames=best:N: stills at the result's size, upright, the right frames."""

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make
from tests.unit.video.media import frame_image, read_number

RATE = 12


def test_thumbnail_is_the_frame_shown_at_that_time(make: Make, edit: Edit) -> None:
    (still,) = edit(make(), [("thumbnail", "1.5")])
    assert still.suffix == ".jpg"
    image = _pixels(still)
    assert image.shape == (96, 160, 3)
    assert _number(image) == 36


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


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _number(image: np.ndarray) -> int:
    return read_number(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24"))
