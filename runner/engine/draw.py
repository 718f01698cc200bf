"""Drawing shared by the image and video engines (which may not import each other): colours
as written in a query string, where a place (runner.engine.places) puts something inside a
margin, and text as a transparent layer to composite over a picture or a video's frames."""

import re
from math import ceil

from PIL import Image, ImageColor

from runner.engine import lettering as _lettering
from runner.engine.lettering import Ink, Lettering, clusters, lettering
from service.kernel.errors import EditFailed

Size = tuple[int, int]
Colour = tuple[int, int, int, int]  # RGBA, 0-255
# The fonts, named here too: the image and video engines read their drawing from this module.
Font = _lettering.Font
TEXT_FONT_FILES = _lettering.TEXT_FONT_FILES
font = _lettering.font
emoji_font = _lettering.emoji_font
undrawable = _lettering.undrawable
undrawable_reason = _lettering.undrawable_reason
COLOUR_SYNTAX = "#rgb, #rgba, #rrggbb, #rrggbbaa (the # may be left out) or a CSS colour name"
TEXT_OUTLINE_PER_SIZE = 1 / 16  # outline width as a share of the text size: legible, not bold
TEXT_LINE_SPACING_PER_SIZE = 0.2  # extra space between lines, as a share of the text size
DEFAULT_TEXT_SIZE_PER_SIDE = 1 / 20  # of the picture's shorter side, when text_size is not given
MIN_DEFAULT_TEXT_SIZE_PX = 10
MARGIN_PER_SIDE = 0.03  # of the picture's shorter side, kept clear all round
MIN_MARGIN_PX = 2
_HEX_COLOUR = re.compile(r"#?([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")


def default_text_size_px(picture: Size) -> int:
    """The text's size on `picture` when text_size is not given."""
    return max(MIN_DEFAULT_TEXT_SIZE_PX, round(min(picture) * DEFAULT_TEXT_SIZE_PER_SIDE))


def margin_px(picture: Size) -> int:
    """What is kept clear all round `picture` when text or an image is put on it."""
    return max(MIN_MARGIN_PX, round(min(picture) * MARGIN_PER_SIDE))


def placed(thing: Size, room: Size, *, at: tuple[float, float], margin_px: int) -> tuple[int, int]:
    """The top-left corner of `thing` put at `at` (a place's fractions) inside `room` less its
    margin: the thing's own point at those fractions on the room's."""
    x = margin_px + at[0] * (room[0] - 2 * margin_px - thing[0])
    y = margin_px + at[1] * (room[1] - 2 * margin_px - thing[1])
    return round(x), round(y)


def colour(text: str) -> Colour | None:
    """#rgb, #rgba, #rrggbb, #rrggbbaa (the # may be left out: it must be escaped in a URL) or
    a CSS colour name, as RGBA; None for anything else."""
    value = text.strip().lower()
    if match := _HEX_COLOUR.fullmatch(value):
        value = "#" + match.group(1)
    elif value not in ImageColor.colormap:
        return None
    rgb = ImageColor.getrgb(value)
    return rgb[0], rgb[1], rgb[2], rgb[3] if len(rgb) == 4 else 255


def text_layer(
    size: Size,
    text: str,
    *,
    size_px: int,
    colour: Colour,
    at: tuple[float, float],
    margin_px: int,
    family: str = "sans",
) -> Image.Image:
    """A transparent RGBA layer of `size` with `text` wrapped to its width inside
    `margin_px`, placed at `at` (fractions: (0, 0) top-left, (0.5, 0.5) centre, (1, 1)
    bottom-right), aligned to that side, with an outline in black or white (whichever
    contrasts with the colour) so it reads anywhere. Emoji are drawn in colour
    (runner.engine.lettering)."""
    letters = lettering(size_px, family)
    ink = Ink(
        (*colour[:3], 255), _contrasting(colour), max(1, round(size_px * TEXT_OUTLINE_PER_SIZE))
    )
    room = (size[0] - 2 * margin_px, size[1] - 2 * margin_px)
    lines = wrap(text, letters, width_px=room[0] - 2 * ink.outline_px)
    block = _block(lines, letters, ink=ink, align=at[0], room=room)
    layer = Image.new("RGBA", size)
    layer.alpha_composite(block, placed(block.size, size, at=at, margin_px=margin_px))
    # Drawn opaque, then faded as a whole, so the outline and the fill do not double up.
    return faded(layer, colour[3] / 255)


def _block(
    lines: list[str], letters: Lettering, *, ink: Ink, align: float, room: Size
) -> Image.Image:
    """The lines drawn one under another, each aligned across (0 left, 1 right), cropped to
    what was drawn; refused when they cannot fit in `room`, before any is drawn."""
    lengths = [letters.length(line) for line in lines]
    pitch = (
        letters.ascent_px + letters.descent_px + round(letters.size_px * TEXT_LINE_SPACING_PER_SIZE)
    )
    width = ceil(max(lengths)) + 2 * ink.outline_px
    # Each line's baseline below the first line's top, and how far the block reaches above
    # the first line's top and below the last line's bottom: the lines' boxes, and marks
    # stacked past them (a letter's accents), which Pillow would otherwise draw whole into
    # a mask of their own before the block cut them off.
    baselines = [number * pitch + letters.ascent_px for number in range(len(lines))]
    reaches = [letters.reach_px(line, outline_px=ink.outline_px) for line in lines]
    tops = [at - above for at, (above, _) in zip(baselines, reaches, strict=True)]
    bottoms = [at + below for at, (_, below) in zip(baselines, reaches, strict=True)]
    top = min(-ink.outline_px, *tops)
    bottom = max(baselines[-1] + letters.descent_px + ink.outline_px, *bottoms)
    # The lines' boxes hold room for ascenders and descenders the text may not have: refused
    # now only when they are too large by more than a line, measured again once drawn.
    needed = (width, bottom - top)
    _check_text_fits(needed, room, size_px=letters.size_px, slack_px=pitch)
    block = Image.new("RGBA", needed)
    for line, length, baseline in zip(lines, lengths, baselines, strict=True):
        x = ink.outline_px + align * (width - 2 * ink.outline_px - length)
        letters.draw_line(block, line, x=x, baseline=baseline - top, style=ink)
    drawn = block.getbbox()
    block = block.crop(drawn) if drawn else block
    _check_text_fits(block.size, room, size_px=letters.size_px)
    return block


def faded(layer: Image.Image, opacity: float) -> Image.Image:
    """An RGBA layer with its alpha scaled by `opacity`."""
    if opacity >= 1:
        return layer
    alpha = layer.getchannel("A").point([round(value * opacity) for value in range(256)])
    result = layer.copy()
    result.putalpha(alpha)
    return result


def wrap(text: str, letters: Lettering, *, width_px: int) -> list[str]:
    """Lines no wider than `width_px`: words move to the next line, and a word wider than a
    whole line is broken between characters. Line breaks in the text are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph, letters, width_px))
    return lines


def _wrap_paragraph(paragraph: str, letters: Lettering, width_px: int) -> list[str]:
    lines: list[str] = []
    for word in paragraph.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and letters.length(joined) <= width_px:
            lines[-1] = joined
        else:
            lines.extend(_break_word(word, letters, width_px))
    return lines or [""]


def _break_word(word: str, letters: Lettering, width_px: int) -> list[str]:
    pieces = [""]
    for cluster in clusters(word):  # never between an emoji and its skin tone, say
        if pieces[-1] and letters.length(pieces[-1] + cluster) > width_px:
            pieces.append(cluster)
        else:
            pieces[-1] += cluster
    return pieces


def _check_text_fits(needed: Size, room: Size, *, size_px: int, slack_px: int = 0) -> None:
    """Refused when `needed` exceeds `room` by more than `slack_px` either way; the refusal
    states the room itself, not the slack it was allowed."""
    if needed[0] <= room[0] + slack_px and needed[1] <= room[1] + slack_px:
        return
    raise EditFailed(
        f"the text does not fit: at text_size={size_px} it needs {needed[0]}x{needed[1]} px and "
        f"the image has {max(room[0], 0)}x{max(room[1], 0)} px inside its margins; "
        "use a smaller text_size or a shorter text"
    )


def _contrasting(colour: Colour) -> Colour:
    red, green, blue = colour[:3]
    light = 0.299 * red + 0.587 * green + 0.114 * blue > 127
    return (0, 0, 0, 255) if light else (255, 255, 255, 255)
