"""crop, resize, rotate and flip, judged by size, mode and where the coloured quarters went."""

from pathlib import Path

import pytest
from PIL import Image

from runner.engine.image.engine import Picture
from runner.engine.image.rotate import Rotate
from service.kernel.errors import EditFailed
from tests.unit.image.pictures import (
    BLUE,
    GREEN,
    QUADRANTS,
    RED,
    WHITE,
    colour_at,
    edit,
    near,
    quadrants,
    save,
    shows,
)  # fmt: skip


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """80x60 PNG: red, green / blue, white."""
    return save(quadrants(), tmp_path / "quadrants.png")


def test_crop_keeps_the_rectangle(source: Path) -> None:
    result = edit(source, "crop=30,20,20,20")
    assert result.size == (20, 20)
    assert result.mode == "RGB"
    assert shows(result, QUADRANTS)


def test_crop_outside_the_image_fails_saying_so(source: Path) -> None:
    with pytest.raises(
        EditFailed,
        match=r"crop='70,0,20,10': reaches past the right edge \(x \+ w = 90\) of the 80x60",
    ):
        edit(source, "crop=70,0,20,10")


@pytest.mark.parametrize(
    ("query", "size"),
    [
        ("resize=40x", (40, 30)),
        ("resize=x30", (40, 30)),
        ("resize=40x40", (40, 30)),  # contain: inside the box, proportions kept
        ("resize=40x40&fit=fill", (40, 40)),
        ("resize=40x40&fit=cover", (40, 40)),
        ("resize=160x&upscale=true", (160, 120)),
        ("resize=160x", (80, 60)),  # never enlarged unless asked
        ("resize=160x160&fit=cover", (60, 60)),  # the box shrinks to what needs no enlarging
        ("resize=160x80&fit=fill", (80, 40)),
        ("resize=160x160&fit=contain&upscale=true", (160, 120)),
    ],
)
def test_resize_sizes(source: Path, query: str, size: tuple[int, int]) -> None:
    result = edit(source, query)
    assert result.size == size
    assert result.mode == "RGB"


def test_resize_contain_and_fill_keep_the_whole_picture(source: Path) -> None:
    assert shows(edit(source, "resize=40x"), QUADRANTS)
    assert shows(edit(source, "resize=20x50&fit=fill"), QUADRANTS)


def test_resize_cover_crops_the_overflow_around_the_centre(tmp_path: Path) -> None:
    # Left third red, middle green, right third blue: a square cover keeps the middle.
    image = Image.new("RGB", (90, 30), RED)
    image.paste(GREEN, (30, 0, 60, 30))
    image.paste(BLUE, (60, 0, 90, 30))
    result = edit(save(image, tmp_path / "bands.png"), "resize=15x15&fit=cover")
    assert result.size == (15, 15)
    assert all(near(colour_at(result, x, 0.5), (*GREEN, 255)) for x in (0.1, 0.5, 0.9))


@pytest.mark.parametrize(
    ("degrees", "size", "colours"),
    [
        ("90", (60, 80), (BLUE, RED, WHITE, GREEN)),
        ("-90", (60, 80), (GREEN, WHITE, RED, BLUE)),
        ("180", (80, 60), (WHITE, BLUE, GREEN, RED)),
        ("360", (80, 60), QUADRANTS),
    ],
)
def test_quarter_turns_are_exact_and_clockwise(
    source: Path, degrees: str, size: tuple[int, int], colours: tuple[tuple[int, int, int], ...]
) -> None:
    result = edit(source, f"rotate={degrees}")
    assert result.size == size
    assert result.mode == "RGB"
    assert shows(result, colours)


def test_other_angles_widen_the_canvas_with_transparent_corners(source: Path) -> None:
    result = edit(source, "rotate=45")
    assert result.mode == "RGBA"
    assert result.size[0] == pytest.approx((80 + 60) / 2**0.5, abs=2)
    assert colour_at(result, 0, 0)[3] == 0
    assert near(colour_at(result, 0.5, 0.5)[3:], (255,))


@pytest.mark.parametrize("degrees", [0, 90, -90, 180, 270, 1, 30, -45, 89.5, 133.3, 359])
@pytest.mark.parametrize("size", [(80, 60), (7, 13), (1, 1)])
def test_rotate_knows_its_size_before_it_runs(degrees: float, size: tuple[int, int]) -> None:
    rotate = Rotate(degrees=degrees)
    picture = Picture(frames=(Image.new("RGB", size),), durations_ms=(0,))
    assert rotate.apply(picture).size == rotate.output_size(size)


def test_rotating_into_jpeg_fills_the_corners_with_white(tmp_path: Path) -> None:
    source = save(quadrants(), tmp_path / "quadrants.jpg", quality=95)
    result = edit(source, "rotate=30")
    assert result.format == "JPEG"
    assert result.mode == "RGB"
    assert near(colour_at(result, 0.01, 0.01), (*WHITE, 255))


@pytest.mark.parametrize(
    ("axis", "colours"), [("h", (GREEN, RED, WHITE, BLUE)), ("v", (BLUE, WHITE, RED, GREEN))]
)
def test_flip(source: Path, axis: str, colours: tuple[tuple[int, int, int], ...]) -> None:
    result = edit(source, f"flip={axis}")
    assert result.size == (80, 60)
    assert shows(result, colours)
