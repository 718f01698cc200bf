"""pad judged by the border's size and colour; overlay by the pixels where the gravity puts it,
their blend at the opacity, and the tiles of a watermark."""

from pathlib import Path
from uuid import UUID, uuid4

import pytest
from PIL import GifImagePlugin, Image

from runner.engine.image.overlay import Overlay
from service.kernel.errors import EditFailed, InvalidParameter
from tests import media
from tests.unit.image.pictures import (
    BLACK,
    BLUE,
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


@pytest.mark.parametrize(
    ("query", "size", "inside"),
    [("pad=10", (100, 80), (10, 10)), ("pad=5,20", (120, 70), (20, 5)),
     ("pad=1,2,3,4", (86, 64), (4, 1))],
)  # fmt: skip
def test_pad_adds_the_border_in_its_colour(
    source: Path, query: str, size: tuple[int, int], inside: tuple[int, int]
) -> None:
    result = edit(source, f"{query}&pad_color=black")
    assert result.size == size
    assert near(result.convert("RGBA").getpixel((0, 0)), (*BLACK, 255))  # type: ignore[arg-type]
    assert near(result.convert("RGBA").getpixel((size[0] - 1, size[1] - 1)), (*BLACK, 255))  # type: ignore[arg-type]
    picture = result.crop((inside[0], inside[1], inside[0] + 80, inside[1] + 60))
    assert shows(picture, QUADRANTS)


def test_pad_is_white_by_default_and_may_be_transparent(source: Path) -> None:
    assert near(colour_at(edit(source, "pad=4"), 0, 0), (*WHITE, 255))
    clear = edit(source, "pad=4&pad_color=0000")
    assert clear.mode == "RGBA" and colour_at(clear, 0, 0)[3] == 0


@pytest.mark.parametrize("query", ["pad=1,2,3", "pad=-1", "pad=4&pad_color=nope", "pad=9000"])
def test_a_wrong_pad_is_refused_naming_it(source: Path, query: str) -> None:
    with pytest.raises(InvalidParameter, match="pad"):
        edit(source, query)


LOGO = UUID("0f8fad5b-d9cb-469f-a165-70867728950e")


@pytest.fixture
def logo(tmp_path: Path) -> Path:
    """20x10, opaque blue."""
    return save(Image.new("RGB", (20, 10), BLUE), tmp_path / "logo.png")


@pytest.fixture
def white(tmp_path: Path) -> Path:
    return save(Image.new("RGB", (100, 50), WHITE), tmp_path / "white.png")


def test_overlay_sits_at_its_gravity_with_its_opacity(white: Path, logo: Path) -> None:
    result = edit(white, f"overlay={LOGO}&overlay_opacity=0.5", others={LOGO: logo})
    assert result.size == (100, 50)
    half_blue = (127, 127, 255, 255)
    assert near(result.convert("RGBA").getpixel((90, 45)), half_blue, 3)  # type: ignore[arg-type]
    assert near(result.convert("RGBA").getpixel((79, 39)), (*WHITE, 255), 0)  # type: ignore[arg-type]
    top_left = edit(white, f"overlay={LOGO}&overlay_gravity=nw", others={LOGO: logo})
    assert near(top_left.convert("RGBA").getpixel((19, 9)), (*BLUE, 255), 0)  # type: ignore[arg-type]
    assert near(top_left.convert("RGBA").getpixel((20, 10)), (*WHITE, 255), 0)  # type: ignore[arg-type]


def test_overlay_scale_is_a_share_of_the_image_width(white: Path, logo: Path) -> None:
    result = edit(white, f"overlay={LOGO}&overlay_scale=0.5&overlay_gravity=0:0",
                  others={LOGO: logo})  # fmt: skip
    pixels = result.convert("RGB")
    assert pixels.getpixel((49, 24)) == BLUE  # 50x25: half the width, proportions kept
    assert pixels.getpixel((51, 26)) == WHITE


def test_overlay_tile_covers_the_image(white: Path, tmp_path: Path) -> None:
    dot = Image.new("RGBA", (10, 10))
    dot.paste((*RED, 255), (0, 0, 2, 2))
    mark = save(dot, tmp_path / "dot.png")
    result = edit(white, f"overlay={LOGO}&overlay_tile=true", others={LOGO: mark}).convert("RGB")
    dots = [(x, y) for x in range(100) for y in range(50) if result.getpixel((x, y)) == RED]
    assert len(dots) == 10 * 5 * 4  # every 10x10 tile has its 2x2 dot
    assert result.getpixel((95, 45)) == WHITE


def test_an_animated_mark_is_read_no_further_than_its_first_frame(
    white: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the first frame is laid: every frame of a mark was decoded (a 1,000-frame GIF as
    a watermark cost its whole decoding on every edit)."""
    mark = tmp_path / "mark.gif"
    mark.write_bytes(media.animated("GIF", frames=40, size=(20, 10)))
    frames_read: list[int] = []
    seek = GifImagePlugin.GifImageFile.seek

    def counted(self: GifImagePlugin.GifImageFile, frame: int) -> None:
        frames_read.append(frame)
        seek(self, frame)

    monkeypatch.setattr(GifImagePlugin.GifImageFile, "seek", counted)
    result = edit(white, f"overlay={LOGO}&overlay_gravity=nw", others={LOGO: mark})

    assert result.size == (100, 50)
    assert max(frames_read) == 0
    with Image.open(mark) as first:
        expected = first.convert("RGB").getpixel((5, 5))
    assert result.convert("RGB").getpixel((5, 5)) == expected


def test_overlay_reads_another_media_and_names_it(white: Path) -> None:
    (operation,) = [Overlay.from_query(str(LOGO), {})]
    assert operation.media_references() == (LOGO,)
    with pytest.raises(EditFailed, match=str(LOGO)):
        edit(white, f"overlay={LOGO}", others={uuid4(): white})


@pytest.mark.parametrize(
    "query",
    ["overlay=logo", f"overlay={LOGO}&overlay_gravity=face", f"overlay={LOGO}&overlay_scale=2",
     f"overlay={LOGO}&overlay_opacity=-1"],
)  # fmt: skip
def test_a_wrong_overlay_is_refused_naming_it(white: Path, query: str) -> None:
    with pytest.raises(InvalidParameter, match="overlay"):
        edit(white, query)


@pytest.mark.parametrize(("where", "first"), [("se", (93 % 7, 47 % 3)), ("nw", (0, 0))])
def test_overlay_tile_lays_a_copy_at_the_gravity_and_its_neighbours_edge_to_edge(
    white: Path, tmp_path: Path, where: str, first: tuple[int, int]
) -> None:
    """A 7x3 mark on 100x50 (neither divides it): its red corner pixel repeats every 7 across
    and 3 down from the copy the gravity places (se: at 93,47)."""
    corner = Image.new("RGBA", (7, 3))
    corner.putpixel((0, 0), (*RED, 255))
    mark = save(corner, tmp_path / "corner.png")
    result = edit(white, f"overlay={LOGO}&overlay_tile=true&overlay_gravity={where}",
                  others={LOGO: mark}).convert("RGB")  # fmt: skip
    reds = {(x, y) for x in range(100) for y in range(50) if result.getpixel((x, y)) == RED}
    assert reds == {(x, y) for x in range(first[0], 100, 7) for y in range(first[1], 50, 3)}


def test_a_one_pixel_mark_is_tiled_in_a_few_pastes_not_one_per_pixel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One paste per copy was a minute of CPU for a 1x1 mark on 50 MP, and again for every
    frame of an animation: past the edit's time limit, refused as too slow."""
    base = save(Image.new("RGB", (1000, 1000), WHITE), tmp_path / "base.png")
    mark = save(Image.new("RGBA", (1, 1), (*RED, 255)), tmp_path / "pixel.png")
    pastes = 0
    paste = Image.Image.paste

    def counted(image: Image.Image, *args: object, **kwargs: object) -> None:
        nonlocal pastes
        pastes += 1
        paste(image, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Image.Image, "paste", counted)
    result = edit(base, f"overlay={LOGO}&overlay_tile=true", others={LOGO: mark})
    assert result.convert("RGB").getcolors() == [(1_000_000, RED)]
    assert pastes < 100
