"""text: drawn where asked, in the colour asked, wrapped inside the image, any script."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFont

from runner.engine import draw, lettering
from runner.engine.image import engine
from service.kernel.errors import EditFailed, InvalidParameter
from tests import media
from tests.unit.image.pictures import (
    BLACK,
    colour_at,
    edit,
    edit_path,
    mean_difference,
    near,
    save,
)  # fmt: skip

NOT_A_GLYPH = "\U0010fffd"  # private use: no font has it, so it draws as the missing-glyph box
INK_FROM = 60  # a channel above this, on black, is text
COLOURFUL_FROM = 50  # channels further apart than this are a colour, not a grey


@pytest.fixture
def black(tmp_path: Path) -> Path:
    return save(Image.new("RGB", (240, 160), BLACK), tmp_path / "black.png")


def ink_box(image: Image.Image) -> tuple[int, int, int, int]:
    """left, top, right, bottom of whatever is not black."""
    ink = np.asarray(image.convert("L")) > INK_FROM
    rows, columns = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert rows.size, "no text was drawn"
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def ink_lines(image: Image.Image) -> int:
    """How many bands of rows hold text, separated by rows without any."""
    rows = np.asarray((np.asarray(image.convert("L")) > INK_FROM).any(axis=1))
    return int(np.count_nonzero(rows[1:] & ~rows[:-1]) + rows[0])


def test_text_is_drawn_at_the_bottom_by_default_in_white(black: Path) -> None:
    result = edit(black, "text=Hello")
    assert (result.size, result.mode) == ((240, 160), "RGB")
    left, top, right, _ = ink_box(result)
    assert top > 120
    assert abs((left + right) / 2 - 120) <= 2  # centred
    assert np.asarray(result).max(axis=(0, 1)).tolist() == [255, 255, 255]


@pytest.mark.parametrize(
    ("position", "x", "y"),
    [("top-left", 0, 0), ("center", 0.5, 0.5), ("bottom-right", 1, 1), ("right", 1, 0.5),
     ("0.25:0.8", 0.25, 0.8)],
)  # fmt: skip
def test_text_position(black: Path, position: str, x: float, y: float) -> None:
    left, top, right, bottom = ink_box(
        edit(black, f"text=Hi&text_size=20&text_position={position}")
    )
    margin = round(160 * 0.03)
    assert left - margin == pytest.approx(x * (240 - 2 * margin - (right - left)), abs=3)
    assert top - margin == pytest.approx(y * (160 - 2 * margin - (bottom - top)), abs=6)


def test_text_size_sets_the_height_of_the_letters(black: Path) -> None:
    small = ink_box(edit(black, "text=H&text_size=12"))
    large = ink_box(edit(black, "text=H&text_size=48"))
    assert (large[3] - large[1]) == pytest.approx(4 * (small[3] - small[1]), rel=0.25)


def test_text_colour_and_translucency(black: Path) -> None:
    solid = edit(black, "text=I&text_size=80&text_color=red&text_position=center")
    faint = edit(black, "text=I&text_size=80&text_color=%23ff000080&text_position=center")
    assert near(colour_at(solid, 0.5, 0.5), (255, 0, 0, 255))
    assert near(colour_at(faint, 0.5, 0.5), (128, 0, 0, 255), tolerance=3)


def test_non_latin_text_is_drawn_with_real_glyphs(black: Path) -> None:
    text = "Привет ✓"
    drawn = edit(black, f"text={text}&text_size=24&text_position=center")
    boxes = f"{NOT_A_GLYPH * 6} {NOT_A_GLYPH}"  # refused by text=, drawn here as .notdef boxes
    with Image.open(black) as image:
        missing = engine.draw_text(
            image.convert("RGB"), boxes, size_px=24, colour=(255, 255, 255, 255), at=(0.5, 0.5),
            margin_px=round(160 * 0.03),
        )  # fmt: skip
    ink_box(drawn)
    # Were a glyph missing from the font, both would be rows of the same empty boxes.
    assert mean_difference(drawn, missing) > 1.0


def test_long_text_wraps_inside_the_image(black: Path) -> None:
    words = "the quick brown fox jumps over the lazy dog " * 3
    result = edit(black, f"text={words}&text_size=16&text_position=top-left")
    left, _, right, _ = ink_box(result)
    margin = round(160 * 0.03)
    assert left >= margin
    assert right <= 240 - margin
    assert ink_lines(result) >= 4


def test_a_word_longer_than_the_line_is_broken(black: Path) -> None:
    result = edit(black, f"text={'W' * 40}&text_size=16")
    assert ink_box(result)[2] <= 240 - round(160 * 0.03)
    assert ink_lines(result) >= 2


def test_text_that_cannot_fit_fails_saying_what_to_change(black: Path) -> None:
    with pytest.raises(EditFailed, match="use a smaller text_size or a shorter text"):
        edit(black, "text=" + "lorem ipsum " * 80 + "&text_size=30")


@pytest.mark.parametrize("mark", ["%CC%81", "%CC%A3"])  # an acute accent above, a dot below
def test_combining_marks_stacked_past_the_image_are_refused_before_drawing(
    tmp_path: Path, mark: str
) -> None:
    """999 marks on one letter stack some 250,000 px high at text_size=700: drawing them would
    make a mask over Pillow's bomb limit (a 500), or of hundreds of megabytes below it."""
    source = save(Image.new("RGB", (1000, 1000), BLACK), tmp_path / "square.png")
    with pytest.raises(EditFailed, match=r"the text does not fit: at text_size=700 it needs \d+x"):
        edit(source, f"text=a{mark * 999}&text_size=700")


def test_marks_stacked_above_the_line_are_drawn_whole(tmp_path: Path) -> None:
    source = save(Image.new("RGB", (400, 400), BLACK), tmp_path / "square.png")
    plain = ink_box(edit(source, "text=a&text_size=40&text_position=center"))
    stacked = ink_box(edit(source, f"text=a{'%CC%81' * 6}&text_size=40&text_position=center"))
    assert plain[3] - plain[1] < 40
    assert stacked[3] - stacked[1] > 60  # six accents reach 74 px up, none cut off at 41


@pytest.mark.parametrize(
    ("size", "query"), [((10, 10), "text=Hi"), ((64, 48), "text=Hi&text_size=60")]
)
def test_text_that_cannot_fit_states_the_room_inside_the_margins(
    tmp_path: Path, size: tuple[int, int], query: str
) -> None:
    source = save(Image.new("RGB", size, BLACK), tmp_path / "small.png")
    margin = draw.margin_px(size)
    room = f"{max(size[0] - 2 * margin, 0)}x{max(size[1] - 2 * margin, 0)} px inside its margins"
    with pytest.raises(EditFailed, match=f"the image has {room}"):
        edit(source, query)


def test_coloured_text_on_a_grey_image_makes_it_colour(tmp_path: Path) -> None:
    source = save(Image.new("L", (120, 80), 0), tmp_path / "grey.png")
    result = edit(source, "text=I&text_size=60&text_color=lime&text_position=center")
    assert result.mode == "RGB"
    assert near(colour_at(result, 0.5, 0.5), (0, 255, 0, 255))


def test_without_dejavu_pillows_own_font_is_used(
    black: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "text=Hello&text_size=30&text_position=center"
    dejavu = edit(black, query)
    monkeypatch.setitem(draw.TEXT_FONT_FILES, "sans", "no-such-font.ttf")
    engine.font.cache_clear()
    try:
        fallback = edit(black, query)
    finally:
        engine.font.cache_clear()
    _, top, _, bottom = ink_box(fallback)
    assert bottom - top == pytest.approx(ink_box(dejavu)[3] - ink_box(dejavu)[1], rel=0.3)
    assert mean_difference(dejavu, fallback) > 1.0


def test_the_font_family_changes_the_letters(tmp_path: Path) -> None:
    blank = save(Image.new("RGB", (200, 60), (0, 0, 0)), tmp_path / "blank.png")
    query = "text=Wide iiii&text_size=24&text_position=center"
    sans, serif, mono = (edit(blank, f"{query}&text_font={f}") for f in ("sans", "serif", "mono"))
    assert mean_difference(sans, serif) > 1
    assert mean_difference(sans, mono) > 1


def test_characters_no_font_draws_are_named(tmp_path: Path) -> None:
    blank = save(Image.new("RGB", (200, 60)), tmp_path / "blank.png")
    with pytest.raises(InvalidParameter, match=r"text=.*no available font draws.*U\+10FFFD") as e:
        edit(blank, f"text=ok 👍🏽 {NOT_A_GLYPH}")
    assert "1F44D" not in str(e.value)  # the emoji font draws that one
    with pytest.raises(InvalidParameter, match=r"U\+4E2D"):
        edit(blank, "text=中&text_font=mono")
    edit(blank, "text=Привет ✓")  # drawn: no error


def test_characters_no_font_has_are_found_without_drawing_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read from the fonts' character maps: asked by drawing each (about 85 us a character),
    a text of 1,000 characters neither font has held the API's event loop 100 ms per request,
    and new ones each time would pass any cache."""
    drawn = 0
    for method in ("getmask", "getbbox"):
        original = getattr(ImageFont.FreeTypeFont, method)

        def counting(self: ImageFont.FreeTypeFont, *args: Any, _original: Any = original,
                     **kwargs: Any) -> Any:  # fmt: skip
            nonlocal drawn
            drawn += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(ImageFont.FreeTypeFont, method, counting)
    text = "".join(chr(code) for code in range(0x5000, 0x5000 + 1000))  # CJK: in neither font

    assert lettering.undrawable(text) == list(text)
    assert drawn == 0


@pytest.mark.parametrize("control", ["\x00", "\x01", "\t", "\x1b", "\x1f", "\x7f", "\ud800"])
def test_control_characters_are_refused_named(tmp_path: Path, control: str) -> None:
    """No font draws them (FreeType shows its box), and PostgreSQL cannot keep a NUL."""
    blank = save(Image.new("RGB", (200, 60)), tmp_path / "blank.png")
    with pytest.raises(InvalidParameter, match=rf"text=.*U\+{ord(control):04X}"):
        edit(blank, f"text=a{control}b")


def test_line_breaks_start_lines_and_are_not_refused(tmp_path: Path) -> None:
    blank = save(Image.new("RGB", (200, 120)), tmp_path / "blank.png")
    one_line = ink_box(edit(blank, "text=ab&text_size=20&text_position=center"))
    for brk in ("\n", "\r\n", "\x0b", "\x85", "\u2028"):
        two = ink_box(edit(blank, f"text=a{brk}b&text_size=20&text_position=center"))
        assert two[3] - two[1] > 1.5 * (one_line[3] - one_line[1])  # two lines, no box


def colourful(image: Image.Image) -> np.ndarray:
    """Where pixels are far from any grey: not white text, its black outline or the black."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return np.asarray((pixels.max(axis=2) - pixels.min(axis=2)) > COLOURFUL_FROM)


def test_emoji_are_drawn_in_colour_beside_the_text(black: Path) -> None:
    result = edit(black, "text=👍🏽 ok&text_size=40&text_position=center")
    left, _, right, _ = ink_box(result)
    columns = np.flatnonzero(colourful(result).any(axis=0))
    assert columns.size > 20  # a brown thumb, not a white box
    assert left - 2 <= columns[0] and columns[-1] < (left + right) / 2  # where the emoji is
    monochrome = edit(black, "text=ok ok&text_size=40&text_position=center")
    assert not colourful(monochrome).any()


def test_emoji_alone_are_drawn_at_the_text_size(black: Path) -> None:
    small = edit(black, "text=👍&text_size=20&text_position=center")
    large = edit(black, "text=👍&text_size=40&text_position=center")
    assert colourful(large).sum() > 200
    box, large_box = ink_box(small), ink_box(large)
    assert large_box[3] - large_box[1] == pytest.approx(2 * (box[3] - box[1]), rel=0.15)
    assert large_box[3] - large_box[1] == pytest.approx(40, rel=0.25)
    assert colourful(edit(black, "text=👨‍👩‍👧 🇫🇷&text_size=30")).any()


def test_a_variation_selector_asks_for_the_colour_emoji(black: Path) -> None:
    text_heart = edit(black, "text=\u2764&text_size=40&text_position=center")
    red_heart = edit(black, "text=\u2764\ufe0f&text_size=40&text_position=center")
    assert not colourful(text_heart).any()  # DejaVu's heart, in the text's white
    assert colourful(red_heart).sum() > 200


def test_text_with_emoji_wraps_inside_the_image(black: Path) -> None:
    result = edit(black, "text=" + "👍🏽 ok " * 12 + "&text_size=16&text_position=top-left")
    left, _, right, _ = ink_box(result)
    margin = round(160 * 0.03)
    assert left >= margin and right <= 240 - margin
    assert ink_lines(result) >= 3
    broken = edit(black, "text=" + "👍" * 30 + "&text_size=16")
    assert ink_box(broken)[2] <= 240 - margin
    assert ink_lines(broken) >= 2


def test_without_the_emoji_font_emoji_are_refused_saying_what_would_draw_them(
    black: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lettering, "EMOJI_FONT_FILE", "no-such-font.ttf")
    lettering.emoji_font.cache_clear()
    try:
        with pytest.raises(InvalidParameter, match=r"U\+1F44D.*U\+1F3FD.*fonts-noto-color-emoji"):
            edit(black, "text=ok 👍🏽")
    finally:
        lettering.emoji_font.cache_clear()


def test_text_on_an_animation_is_laid_out_once_for_all_its_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Laying out 1,000 characters costs up to a second: once per frame, an animation's
    text ran past the edit's time limit."""
    source = tmp_path / "animated.gif"
    source.write_bytes(media.animated("GIF", frames=12, size=(120, 60)))
    layouts = 0
    layer = engine.text_layer

    def counted(*args: Any, **kwargs: Any) -> Image.Image:
        nonlocal layouts
        layouts += 1
        return layer(*args, **kwargs)

    monkeypatch.setattr(engine, "text_layer", counted)
    out = edit_path(source, "text=Hi&text_size=20&text_color=lime&text_position=center")
    with Image.open(out) as result:
        assert getattr(result, "n_frames", 1) == 12
        for index in range(12):
            result.seek(index)
            assert near(colour_at(result.convert("RGB"), 0.5, 0.5), (0, 255, 0))
    assert layouts == 1
