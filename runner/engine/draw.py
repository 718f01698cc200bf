"""Drawing shared by the image and video engines (which may not import each other): colours
as written in a query string, where a position puts something, and text as a transparent
layer to composite over a picture or a video's frames."""

import re
from functools import lru_cache
from math import ceil
from typing import Literal

from PIL import Image, ImageColor, ImageDraw, ImageFont

from service.kernel.errors import EditFailed

Size = tuple[int, int]
Colour = tuple[int, int, int, int]  # RGBA, 0-255
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
Position = Literal[
    "top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom",
    "bottom-right",
]  # fmt: skip
# Where each position puts a thing, as fractions of the room across and down.
PLACES: dict[Position, tuple[float, float]] = {
    "top-left": (0.0, 0.0), "top": (0.5, 0.0), "top-right": (1.0, 0.0),
    "left": (0.0, 0.5), "center": (0.5, 0.5), "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0), "bottom": (0.5, 1.0), "bottom-right": (1.0, 1.0),
}  # fmt: skip
POSITIONS: tuple[Position, ...] = tuple(PLACES)
COLOUR_SYNTAX = "#rgb, #rgba, #rrggbb, #rrggbbaa (the # may be left out) or a CSS colour name"
# Pillow looks the bare file name up in the system font directories (fonts-dejavu-core puts it
# in /usr/share/fonts/truetype/dejavu); without it, Pillow's bundled Aileron (Latin only).
TEXT_FONT_FILE = "DejaVuSans.ttf"
TEXT_FONT_FILES = {"sans": TEXT_FONT_FILE, "serif": "DejaVuSerif.ttf", "mono": "DejaVuSansMono.ttf"}
_NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no font draws: shows the .notdef box
_COVERAGE_SIZE_PX = 32
TEXT_OUTLINE_PER_SIZE = 1 / 16  # outline width as a share of the text size: legible, not bold
TEXT_LINE_SPACING_PER_SIZE = 0.2  # extra space between lines, as a share of the text size
_ALIGN = {0.0: "left", 0.5: "center", 1.0: "right"}
_HEX_COLOUR = re.compile(r"#?([0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})")


def placed(thing: Size, room: Size, *, at: tuple[float, float], margin_px: int) -> tuple[int, int]:
    """The top-left corner of `thing` put at `at` inside `room` less its margin."""
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
    contrasts with the colour) so it reads anywhere."""
    face = font(size_px, family)
    outline_px = max(1, round(size_px * TEXT_OUTLINE_PER_SIZE))
    room = (size[0] - 2 * margin_px, size[1] - 2 * margin_px)
    block = "\n".join(wrap(text, face, width_px=room[0] - 2 * outline_px))
    layer = Image.new("RGBA", size)
    pen = ImageDraw.Draw(layer)
    align, spacing = _ALIGN[at[0]], round(size_px * TEXT_LINE_SPACING_PER_SIZE)
    left, top, right, bottom = pen.multiline_textbbox(
        (0, 0), block, face, spacing=spacing, align=align, stroke_width=outline_px
    )
    _check_text_fits((ceil(right - left), ceil(bottom - top)), room, size_px=size_px)
    x = margin_px + at[0] * (room[0] - (right - left)) - left
    y = margin_px + at[1] * (room[1] - (bottom - top)) - top
    pen.multiline_text(
        (x, y), block, (*colour[:3], 255), face, spacing=spacing, align=align,
        stroke_width=outline_px, stroke_fill=_contrasting(colour),
    )  # fmt: skip
    # Drawn opaque, then faded as a whole, so the outline and the fill do not double up.
    return faded(layer, colour[3] / 255)


def faded(layer: Image.Image, opacity: float) -> Image.Image:
    """An RGBA layer with its alpha scaled by `opacity`."""
    if opacity >= 1:
        return layer
    alpha = layer.getchannel("A").point([round(value * opacity) for value in range(256)])
    result = layer.copy()
    result.putalpha(alpha)
    return result


@lru_cache(maxsize=8)  # every frame of an animation uses the same font
def font(size_px: int, family: str = "sans") -> Font:
    """The family's DejaVu font (found in the system font directories), or Pillow's bundled
    font when it is not installed."""
    try:
        return ImageFont.truetype(TEXT_FONT_FILES[family], size_px)
    except OSError:
        return ImageFont.load_default(size=size_px)


def undrawable(text: str, family: str = "sans") -> list[str]:
    """The characters of `text` the family's font has no glyph for, in order, once each: what
    it would draw for them is its .notdef box (an empty rectangle)."""
    face = font(_COVERAGE_SIZE_PX, family)
    notdef = face.getmask(_NOTDEF_PROBE)
    missing: list[str] = []
    for character in dict.fromkeys(text):
        if character.isspace() or not character.isprintable() or character in missing:
            continue
        mask = face.getmask(character)
        if mask.size == notdef.size and bytes(mask) == bytes(notdef):
            missing.append(character)
    return missing


def wrap(text: str, face: Font, *, width_px: int) -> list[str]:
    """Lines no wider than `width_px`: words move to the next line, and a word wider than a
    whole line is broken between characters. Line breaks in the text are kept."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(_wrap_paragraph(paragraph, face, width_px))
    return lines


def _wrap_paragraph(paragraph: str, face: Font, width_px: int) -> list[str]:
    lines: list[str] = []
    for word in paragraph.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and face.getlength(joined) <= width_px:
            lines[-1] = joined
        else:
            lines.extend(_break_word(word, face, width_px))
    return lines or [""]


def _break_word(word: str, face: Font, width_px: int) -> list[str]:
    pieces = [""]
    for character in word:
        if pieces[-1] and face.getlength(pieces[-1] + character) > width_px:
            pieces.append(character)
        else:
            pieces[-1] += character
    return pieces


def _check_text_fits(needed: Size, room: Size, *, size_px: int) -> None:
    if needed[0] <= room[0] and needed[1] <= room[1]:
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
