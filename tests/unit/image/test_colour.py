"""opacity and color: pixel values within a tolerance, alpha left as it was, steps in the order
written."""

from pathlib import Path

import pytest
from PIL import Image

from tests.unit.image.pictures import colour_at, edit, near, save

GREYISH_RED = (200, 60, 40)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return save(Image.new("RGB", (20, 10), GREYISH_RED), tmp_path / "red.png")


def test_opacity_scales_alpha_and_keeps_colour(source: Path) -> None:
    result = edit(source, "opacity=0.5")
    assert result.mode == "RGBA"
    assert near(colour_at(result, 0.5, 0.5), (*GREYISH_RED, 128), tolerance=2)


def test_opacity_multiplies_existing_alpha(tmp_path: Path) -> None:
    source = save(Image.new("RGBA", (20, 10), (0, 0, 255, 200)), tmp_path / "blue.png")
    assert near(colour_at(edit(source, "opacity=0.5"), 0.5, 0.5), (0, 0, 255, 100), tolerance=2)


def test_opacity_in_jpeg_is_shown_over_white(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (16, 16), (0, 0, 0)), tmp_path / "black.jpg")
    result = edit(source, "opacity=0.25")
    assert result.mode == "RGB"
    assert near(colour_at(result, 0.5, 0.5), (191, 191, 191, 255), tolerance=4)


@pytest.mark.parametrize(
    ("effects", "expected"),
    [
        ("brightness:0", (0, 0, 0)),
        ("brightness:1", GREYISH_RED),
        ("brightness:1.2", (240, 72, 48)),
        ("contrast:0", (100, 100, 100)),  # flat at the mean grey
        ("saturation:0", (100, 100, 100)),
        ("invert", (55, 195, 215)),
        ("sepia", (132, 118, 92)),
    ],
)
def test_colour_effects(source: Path, effects: str, expected: tuple[int, int, int]) -> None:
    result = edit(source, f"color={effects}")
    assert result.mode == "RGB"
    assert near(colour_at(result, 0.5, 0.5), (*expected, 255), tolerance=3)


def test_grayscale_makes_a_grey_image(source: Path) -> None:
    result = edit(source, "color=grayscale")
    assert result.mode == "L"
    assert result.getpixel((5, 5)) == pytest.approx(100, abs=2)


def test_colour_effects_leave_alpha_alone(tmp_path: Path) -> None:
    source = save(Image.new("RGBA", (20, 10), (200, 60, 40, 90)), tmp_path / "faint.png")
    result = edit(source, "color=brightness:0.5,grayscale,invert")
    assert result.mode == "LA"
    assert near(colour_at(result, 0.5, 0.5), (205, 205, 205, 90), tolerance=3)


def test_colour_effects_run_in_the_order_written(source: Path) -> None:
    """Inverting then darkening is not darkening then inverting."""
    darkened_inverse = colour_at(edit(source, "color=invert,brightness:0.5"), 0.5, 0.5)
    inverted_dark = colour_at(edit(source, "color=brightness:0.5,invert"), 0.5, 0.5)
    assert near(darkened_inverse, (28, 98, 108, 255), tolerance=3)
    assert near(inverted_dark, (155, 225, 235, 255), tolerance=3)
