"""The Pillow calls image operations make, named for what they do, so an operation reads as its
intent. Every function takes a frame in one of the working modes (L, LA, RGB, RGBA: the codec
decodes into them) and returns a new frame; none changes its argument."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from math import ceil, cos, floor, radians, sin
from typing import Literal

from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from runner.engine import draw
from runner.engine.draw import Colour
from runner.engine.image import resample

Size = tuple[int, int]
# The text drawing the video engine shares lives in runner.engine.draw; named here too, so an
# image operation reads all its Pillow calls from one module.
colour = draw.colour
font = draw.font
wrap = draw.wrap
undrawable = draw.undrawable
undrawable_reason = draw.undrawable_reason
text_layer = draw.text_layer
TEXT_FONT_FILES = draw.TEXT_FONT_FILES
Box = tuple[int, int, int, int]  # left, top, right, bottom, in pixels
Region = tuple[float, float, float, float]  # left, top, right, bottom, as fractions of a side
Axis = Literal["h", "v"]
Frame = Image.Image

WHOLE: Region = (0.0, 0.0, 1.0, 1.0)
# Shrinking by whole factors with reduce() before resampling looks the same once the image is
# within 3x of its target, and is several times faster for large reductions.
REDUCING_GAP = 3.0
_CLOCKWISE_TURNS = {
    90: Image.Transpose.ROTATE_270,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_90,
}
_FLIPS = {"h": Image.Transpose.FLIP_LEFT_RIGHT, "v": Image.Transpose.FLIP_TOP_BOTTOM}
# The classic sepia tone (Microsoft's published coefficients), as an RGB -> RGB matrix.
_SEPIA = (0.393, 0.769, 0.189, 0, 0.349, 0.686, 0.168, 0, 0.272, 0.534, 0.131, 0)


@dataclass(frozen=True, slots=True)
class Picture:
    """An image as frames of one size and mode: one frame for stills, every frame (with its
    duration) for animations, so each operation changes them all alike."""

    frames: tuple[Frame, ...]
    durations_ms: tuple[int, ...]
    loop: int | None = None  # as the source said: 0 = forever, None = play once
    icc_profile: bytes | None = None
    # When JPEG decoding was scaled down (draft), the size the frames stand for: the first
    # operation computes its geometry from it, so results do not depend on the scaling.
    full_size: Size | None = None

    @property
    def size(self) -> Size:
        return self.frames[0].size

    @property
    def nominal_size(self) -> Size:
        return self.full_size or self.size

    @property
    def first(self) -> Frame:
        return self.frames[0]

    def map(self, change: Callable[[Frame], Frame]) -> "Picture":
        return replace(self, frames=tuple(change(frame) for frame in self.frames), full_size=None)


def has_alpha(frame: Frame) -> bool:
    return frame.mode in ("LA", "RGBA")


def with_alpha(frame: Frame) -> Frame:
    return frame if has_alpha(frame) else frame.convert(frame.mode + "A")


def crop(frame: Frame, box: Box) -> Frame:
    return frame.crop(box)


def resize(frame: Frame, size: Size, *, region: Region = WHOLE) -> Frame:
    """`region` of the frame (fractions, so a frame decoded at reduced scale gives the same
    result) resampled to `size` with Lanczos, alpha premultiplied; large ones on both cores,
    the same bytes whatever the threads (runner.engine.image.resample)."""
    if size == frame.size and region == WHOLE:
        return frame
    width, height = frame.size
    box = (region[0] * width, region[1] * height, region[2] * width, region[3] * height)
    shrinking = size[0] < box[2] - box[0] and size[1] < box[3] - box[1]
    gap = REDUCING_GAP if shrinking else None
    return resample.lanczos(frame, size, box=box, reducing_gap=gap)


def on_canvas(frame: Frame, size: Size, *, at: tuple[int, int], background: Colour) -> Frame:
    """`frame` placed with its top-left corner at `at` on a canvas of `size` filled with
    `background`; the canvas has alpha when either has, and colour unless both are grey."""
    grey = frame.mode in ("L", "LA") and background[0] == background[1] == background[2]
    alpha = has_alpha(frame) or background[3] < 255
    mode = ("L" if grey else "RGB") + ("A" if alpha else "")
    fill = (background[0], background[3]) if grey else background
    canvas = Image.new(mode, size, fill[: len(mode)])
    placed = frame.convert(mode)
    canvas.paste(placed, at, placed if alpha else None)
    return canvas


def mark_layer(mark: Frame, size: Size, *, at: tuple[int, int]) -> Frame:
    """An RGBA layer of `size`, transparent but for `mark` with its top-left corner at `at` (it
    may reach past the edges: what falls outside is cut off)."""
    layer = Image.new("RGBA", size)
    layer.paste(mark.convert("RGBA"), at)
    return layer


def tiled_layer(mark: Frame, size: Size, *, at: tuple[int, int]) -> Frame:
    """An RGBA layer of `size` covered edge to edge by copies of `mark`, one with its top-left
    corner at `at`. Laid by doubling what is already laid, across then down: a few dozen
    pastes however small the mark (one per copy was a minute for a 1x1 mark on 50 MP)."""
    width, height = mark.size
    sheet = _repeated(mark.convert("RGBA"), (size[0] + width, size[1] + height))
    left, top = -at[0] % width, -at[1] % height  # where the layer's corner falls in a copy
    return sheet.crop((left, top, left + size[0], top + size[1]))


def _repeated(piece: Frame, size: Size) -> Frame:
    """A sheet of `size` filled with copies of `piece` from its top-left corner."""
    sheet = Image.new(piece.mode, size)
    sheet.paste(piece, (0, 0))
    width, height = piece.size
    while width < size[0]:
        sheet.paste(sheet.crop((0, 0, width, piece.height)), (width, 0))
        width *= 2
    while height < size[1]:
        sheet.paste(sheet.crop((0, 0, size[0], height)), (0, height))
        height *= 2
    return sheet


def blur(frame: Frame, sigma: float) -> Frame:
    """Gaussian blur of standard deviation `sigma` pixels (alpha premultiplied, so transparent
    pixels do not bleed their colour)."""
    return _premultiplied(frame, lambda f: f.filter(ImageFilter.GaussianBlur(sigma)))


def sharpen(frame: Frame, sigma: float, *, percent: int, threshold: int) -> Frame:
    """Unsharp mask: the difference from a Gaussian blur of `sigma` pixels added back."""
    mask = ImageFilter.UnsharpMask(radius=sigma, percent=percent, threshold=threshold)
    return _colour_only(frame, lambda opaque: opaque.filter(mask))


def _premultiplied(frame: Frame, change: Callable[[Frame], Frame]) -> Frame:
    if not has_alpha(frame):
        return change(frame)
    mode = frame.mode
    premultiplied = frame.convert("RGBa" if mode == "RGBA" else "La")
    return change(premultiplied).convert(mode)


def rotate(frame: Frame, clockwise_degrees: float) -> Frame:
    """Quarter turns are exact; other angles widen the canvas to hold the whole image and
    leave the corners transparent (the codec flattens them for formats without alpha)."""
    turn = clockwise_degrees % 360
    if turn == 0:
        return frame
    if turn in _CLOCKWISE_TURNS:
        return frame.transpose(_CLOCKWISE_TURNS[int(turn)])
    turnable = with_alpha(frame)
    clear = (0,) * len(turnable.getbands())
    return turnable.rotate(-turn, Image.Resampling.BICUBIC, expand=True, fillcolor=clear)


def turned_size(size: Size, clockwise_degrees: float) -> Size:
    """The canvas rotate() makes, by Pillow's own arithmetic: the turned corners, rounded
    outwards to whole pixels."""
    turn = clockwise_degrees % 360
    width, height = size
    if turn in (0, 180):
        return size
    if turn in (90, 270):
        return height, width
    a, b = round(cos(radians(turn)), 15), round(sin(radians(turn)), 15)
    c = a * -width / 2 + b * -height / 2 + width / 2
    f = -b * -width / 2 + a * -height / 2 + height / 2
    corners = ((0, 0), (width, 0), (width, height), (0, height))
    xs = [a * x + b * y + c for x, y in corners]
    ys = [-b * x + a * y + f for x, y in corners]
    return ceil(max(xs)) - floor(min(xs)), ceil(max(ys)) - floor(min(ys))


def flip(frame: Frame, axis: Axis) -> Frame:
    return frame.transpose(_FLIPS[axis])


def fade(frame: Frame, opacity: float) -> Frame:
    """Scale the alpha channel (opaque if there was none) by `opacity`."""
    faded = with_alpha(frame)
    *colour, alpha = faded.split()
    lookup = [round(value * opacity) for value in range(256)]
    return Image.merge(faded.mode, (*colour, alpha.point(lookup)))


def brightness(frame: Frame, factor: float) -> Frame:
    return _colour_only(frame, lambda opaque: ImageEnhance.Brightness(opaque).enhance(factor))


def contrast(frame: Frame, factor: float) -> Frame:
    return _colour_only(frame, lambda opaque: ImageEnhance.Contrast(opaque).enhance(factor))


def saturation(frame: Frame, factor: float) -> Frame:
    return _colour_only(frame, lambda opaque: ImageEnhance.Color(opaque).enhance(factor))


def grayscale(frame: Frame) -> Frame:
    """To L (or LA): luma by ITU-R 601-2, as Pillow converts."""
    return _colour_only(frame, lambda opaque: opaque.convert("L"))


def sepia(frame: Frame) -> Frame:
    return _colour_only(frame, lambda opaque: opaque.convert("RGB").convert("RGB", _SEPIA))


def invert(frame: Frame) -> Frame:
    return _colour_only(frame, ImageOps.invert)


def _colour_only(frame: Frame, change: Callable[[Frame], Frame]) -> Frame:
    """Apply a colour change to the colour bands and keep the alpha band as it was: Pillow's
    enhancers would otherwise blend alpha too."""
    if not has_alpha(frame):
        return change(frame)
    changed = change(frame.convert(frame.mode[:-1]))
    changed.putalpha(frame.getchannel("A"))
    return changed


def draw_text(
    frame: Frame,
    text: str,
    *,
    size_px: int,
    colour: Colour,
    at: tuple[float, float],
    margin_px: int,
    family: str = "sans",
) -> Frame:
    """Write `text` on the frame in the font `family`: see runner.engine.draw.text_layer."""
    layer = text_layer(
        frame.size, text, size_px=size_px, colour=colour, at=at, margin_px=margin_px,
        family=family,
    )  # fmt: skip
    return composited(frame, layer)


def composited(frame: Frame, layer: Frame) -> Frame:
    """`layer` composited over `frame`; coloured text makes a grey frame RGB."""
    base = frame.convert("RGBA")
    base.alpha_composite(layer)
    return base if has_alpha(frame) else base.convert("RGB")
