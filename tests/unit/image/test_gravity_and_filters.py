"""blur and sharpen judged by the pixels' spread and edges; resize's gravity judged by which
part of the image is kept; fit=pad by the border's colour; dpr by the result's size."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from runner.engine.image import gravity
from runner.engine.image.engine import Picture
from runner.engine.image.resize import Resize
from service.kernel.errors import InvalidParameter
from tests.unit.image import pictures
from tests.unit.image.pictures import (
    BLACK,
    BLUE,
    QUADRANTS,
    RED,
    RGB,
    colour_at,
    edit,
    near,
    noise,
    quadrants,
    save,
    shows,
)  # fmt: skip


def checkerboard(size: int = 64, square: int = 4) -> Image.Image:
    cells = (np.indices((size, size)) // square).sum(axis=0) % 2
    return Image.fromarray((cells * 255).astype(np.uint8)).convert("RGB")


def test_blur_lowers_the_contrast_of_a_checkerboard(tmp_path: Path) -> None:
    source = save(checkerboard(), tmp_path / "board.png")
    spread = np.asarray(Image.open(source).convert("L"), dtype=float).std()
    slightly, strongly = (
        np.asarray(edit(source, f"blur={sigma}").convert("L"), dtype=float).std()
        for sigma in (1, 4)
    )
    assert strongly < slightly < spread * 0.8


def test_sharpen_raises_the_contrast_at_an_edge(tmp_path: Path) -> None:
    step = Image.new("L", (64, 64), 64)
    step.paste(192, (32, 0, 64, 64))
    soft = step.filter(ImageFilter.GaussianBlur(2))
    source = save(soft.convert("RGB"), tmp_path / "edge.png")
    before = np.asarray(soft, dtype=float)[32]
    after = np.asarray(edit(source, "sharpen=2").convert("L"), dtype=float)[32]
    assert np.abs(np.diff(after)).max() > np.abs(np.diff(before)).max() * 1.3
    assert after.min() < before.min() and after.max() > before.max()  # the overshoot


def test_blur_keeps_transparent_pixels_from_bleeding_colour(tmp_path: Path) -> None:
    image = Image.new("RGBA", (40, 40), (255, 0, 0, 0))
    image.paste((0, 0, 255, 255), (10, 10, 30, 30))
    result = edit(save(image, tmp_path / "blue.png"), "blur=3")
    assert result.mode == "RGBA"
    red, _, blue, alpha = colour_at(result, 9 / 40, 0.5)
    assert 0 < alpha < 255 and blue > 200 and red < 30


@pytest.mark.parametrize("query", ["blur=0", "blur=101", "sharpen=x", "sharpen=-1"])
def test_filter_bounds_are_refused_naming_the_parameter(tmp_path: Path, query: str) -> None:
    with pytest.raises(InvalidParameter, match=query.split("=")[0]):
        edit(save(quadrants(), tmp_path / "q.png"), query)


@pytest.fixture
def stripes(tmp_path: Path) -> Path:
    """40x120: red top third, black middle, blue bottom third."""
    image = Image.new("RGB", (40, 120), BLACK)
    image.paste(RED, (0, 0, 40, 40))
    image.paste(BLUE, (0, 80, 40, 120))
    return save(image, tmp_path / "stripes.png")


@pytest.mark.parametrize(
    ("where", "colour"),
    [("n", RED), ("s", BLUE), ("center", BLACK), ("0.5:0", RED), ("0:1", BLUE), ("nw", RED)],
)
def test_gravity_chooses_the_part_cover_keeps(stripes: Path, where: str, colour: RGB) -> None:
    result = edit(stripes, f"resize=20x20&fit=cover&gravity={where}")
    assert result.size == (20, 20)
    seen = [colour_at(result, x, y) for x in (0.1, 0.9) for y in (0.1, 0.9)]
    assert all(near(pixel, (*colour, 255)) for pixel in seen)


def test_face_gravity_keeps_the_face(tmp_path: Path) -> None:
    astronaut = save(pictures.astronaut(), tmp_path / "astronaut.png")
    face = (190, 255)  # the astronaut's face spans these columns of the 512x512 photograph
    kept = edit(astronaut, "resize=102x512&fit=cover&gravity=face")  # a crop, not scaled
    centred = edit(astronaut, "resize=102x512&fit=cover")
    assert kept.size == (102, 512)
    left = column_of(kept, astronaut)
    assert left <= face[0] and left + 102 >= face[1]
    assert not column_of(centred, astronaut) <= face[0]  # the centre alone would cut it


def column_of(crop: Image.Image, source: Path) -> int:
    """Where a full-height crop lies across the source: the column where it matches best."""
    whole = np.asarray(Image.open(source).convert("L"), dtype=float)
    part = np.asarray(crop.convert("L"), dtype=float)
    width = part.shape[1]
    errors = [np.abs(whole[:, x : x + width] - part).mean() for x in range(whole.shape[1] - width)]
    assert min(errors) < 8  # a crop at a fractional column is resampled a little
    return int(np.argmin(errors))


def test_smart_gravity_keeps_the_detailed_part(tmp_path: Path) -> None:
    image = Image.new("RGB", (300, 100), (120, 120, 120))
    image.paste(noise((80, 100)), (20, 0))  # the detail is near the left edge
    result = edit(save(image, tmp_path / "detail.png"), "resize=100x100&fit=cover&gravity=smart")
    assert result.size == (100, 100)
    grey = np.asarray(result.convert("L"), dtype=float)
    assert grey[:, 20:80].std() > 40  # the noise is kept, not the flat middle


@pytest.mark.parametrize("value", ["up", "1.5:0", "0.5", "a:b", ""])
def test_a_wrong_gravity_is_refused_with_the_choices(tmp_path: Path, value: str) -> None:
    with pytest.raises(InvalidParameter, match=r"gravity=.*accepted: face or smart .* or x:y"):
        edit(save(quadrants(), tmp_path / "q.png"), f"resize=10x10&fit=cover&gravity={value}")


def test_cover_fits_the_box_for_every_size_without_leaving_the_image() -> None:
    picture = Picture(frames=(quadrants((1200, 900)),), durations_ms=(0,))
    for side in [*range(1, 12), *range(12, 900, 17), 134]:
        for shape in ((side, side), (side, max(1, side // 3)), (max(1, side // 3), side)):
            for where in ("center", "0.3:0.7"):
                resize = Resize(width=shape[0], height=shape[1], fit="cover", gravity=where)
                assert resize.apply(picture).size == shape, (shape, where)


def test_regions_stay_inside_the_image_for_shares_a_hair_over_one() -> None:
    for share in (1.0000000000000002, 0.9999999999999999, 0.3333333333333333):
        for at in ((0.0, 0.0), (1.0, 1.0), (0.5, 0.5)):
            left, top, right, bottom = gravity.region((share, 1.0), at)
            assert 0.0 <= left <= right <= 1.0 and 0.0 <= top <= bottom <= 1.0


def test_fit_pad_letterboxes_in_the_background_colour(tmp_path: Path) -> None:
    source = save(quadrants(), tmp_path / "q.png")  # 80x60
    result = edit(source, "resize=160x60&fit=pad&background=black")
    assert result.size == (160, 60)
    assert near(colour_at(result, 0.1, 0.5), (*BLACK, 255))
    assert near(colour_at(result, 0.9, 0.5), (*BLACK, 255))
    assert shows(result.crop((40, 0, 120, 60)), QUADRANTS)
    left = edit(source, "resize=160x60&fit=pad&background=%23ff0000&gravity=w")
    assert shows(left.crop((0, 0, 80, 60)), QUADRANTS)
    assert near(colour_at(left, 0.9, 0.5), (*RED, 255))


def test_fit_pad_can_be_transparent(tmp_path: Path) -> None:
    result = edit(save(quadrants(), tmp_path / "q.png"), "resize=80x120&fit=pad&background=0000")
    assert result.mode == "RGBA"
    assert colour_at(result, 0.5, 0.05)[3] == 0
    assert colour_at(result, 0.25, 0.5)[3] == 255


@pytest.mark.parametrize(
    ("query", "size"),
    [("resize=20x&dpr=2", (40, 30)), ("resize=40x&dpr=3", (80, 60)),
     ("resize=10x10&fit=cover&dpr=2.5", (25, 25)), ("resize=30x30&fit=pad&dpr=2", (60, 60))],
)  # fmt: skip
def test_dpr_multiplies_the_box(tmp_path: Path, query: str, size: tuple[int, int]) -> None:
    assert edit(save(quadrants(), tmp_path / "q.png"), query).size == size


def test_dpr_beyond_the_output_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match=r"dpr='4'.*at most 3000"):
        edit(save(quadrants(), tmp_path / "q.png"), "resize=1000x&dpr=4")
