"""headshot: a square around the largest face, or a clear failure when there is none; in an
animation, the square around the face in its first frame, on every frame."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageSequence

from runner.engine.image.headshot import square_around
from service.kernel.errors import EditFailed
from tests.unit.image import pictures
from tests.unit.image.pictures import edit, edit_path, noise, save

# The astronaut's eyes, nose and mouth in skimage's 512x512 photograph (left, top, right,
# bottom), measured by eye.
FACE = (190, 85, 255, 155)


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faces") / "astronaut.png"
    return save(pictures.astronaut(), path)


def placed(result: Image.Image, source: Path) -> tuple[int, int, int, int]:
    """Where the (lossless, unscaled) crop lies in the source."""
    with Image.open(source) as whole:
        scores = cv2.matchTemplate(np.asarray(whole), np.asarray(result), cv2.TM_SQDIFF)
    best, _, (x, y), _ = cv2.minMaxLoc(scores)
    # A pixel that differs adds at least 1 to the sum of squares; OpenCV sums in floats (on
    # some CPUs by FFT), so an exact match can come out as a rounding error above 0.
    assert best < 0.5
    return x, y, x + result.width, y + result.height


def contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and outer[2] >= inner[2]
        and outer[3] >= inner[3]
    )


@pytest.mark.parametrize(
    ("padding", "side"), [("", (150, 190)), ("0", (80, 110)), ("1", (240, 300))]
)
def test_headshot_is_a_square_around_the_astronauts_face(
    astronaut: Path, padding: str, side: tuple[int, int]
) -> None:
    result = edit(astronaut, f"headshot={padding}")
    assert result.mode == "RGB"
    assert result.width == result.height
    assert side[0] <= result.width <= side[1]
    assert contains(placed(result, astronaut), FACE)


def test_a_large_padding_stays_inside_the_image(astronaut: Path) -> None:
    result = edit(astronaut, "headshot=3")
    assert result.size == (512, 512)


def test_an_image_without_a_face_fails_saying_so(tmp_path: Path) -> None:
    source = save(noise((200, 150)), tmp_path / "noise.png")
    with pytest.raises(EditFailed) as caught:
        edit(source, "headshot")
    assert str(caught.value) == "no face found in the image; headshot needs a visible frontal face"


@pytest.mark.parametrize(
    ("face", "padding", "within", "square"),
    [
        ((40, 40, 60, 60), 0.5, (100, 100), (30, 30, 70, 70)),
        ((0, 0, 20, 20), 0.5, (100, 100), (0, 0, 40, 40)),  # moved right and down to fit
        ((80, 10, 100, 30), 1.0, (100, 50), (50, 0, 100, 50)),  # shrunk to the shorter side
    ],
)
def test_square_around_is_clamped_to_the_image(
    face: tuple[int, int, int, int],
    padding: float,
    within: tuple[int, int],
    square: tuple[int, int, int, int],
) -> None:
    assert square_around(face, padding=padding, within=within) == square


def shifted(image: Image.Image, right: int) -> Image.Image:
    """The picture moved `right` pixels, wrapping round: its face is elsewhere."""
    return Image.fromarray(np.roll(np.asarray(image), right, axis=1))


def test_an_animation_is_cropped_where_its_first_frame_shows_the_face(tmp_path: Path) -> None:
    photo = pictures.astronaut()
    frames = [photo, shifted(photo, 150), Image.new("RGB", photo.size, (40, 80, 120))]
    source = save(
        frames[0], tmp_path / "faces.png", save_all=True, append_images=frames[1:],
        duration=[100, 200, 300], loop=0,
    )  # fmt: skip
    with Image.open(edit_path(source, "headshot")) as result:
        assert result.format == "PNG"
        assert (getattr(result, "n_frames", 1), result.info.get("loop")) == (3, 0)
        crops = []
        for frame in ImageSequence.Iterator(result):
            crops.append((frame.convert("RGB"), frame.info["duration"]))
    first, _ = crops[0]
    assert first.width == first.height
    box = placed(first, save(photo, tmp_path / "still.png"))
    assert contains(box, FACE)
    assert [duration for _, duration in crops] == [100, 200, 300]
    for (crop, _), frame in zip(crops, frames, strict=True):  # the same square of each frame
        assert np.array_equal(np.asarray(crop), np.asarray(frame.crop(box)))


def test_an_animation_whose_first_frame_shows_no_face_fails(tmp_path: Path) -> None:
    photo = pictures.astronaut()
    frames = [Image.new("RGB", photo.size, (40, 80, 120)), photo, photo]
    source = save(frames[0], tmp_path / "late.png", save_all=True, append_images=frames[1:])
    with pytest.raises(EditFailed, match="no face found"):
        edit(source, "headshot")
