"""The Pillow calls image operations make, named for what they do, so an operation reads as its
intent. Every function takes a frame in one of the working modes (L, LA, RGB, RGBA: the codec
decodes into them) and returns a new frame; none changes its argument."""

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from PIL import Image

Size = tuple[int, int]
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
    result) resampled to `size` with Lanczos; alpha is premultiplied by Pillow."""
    if size == frame.size and region == WHOLE:
        return frame
    width, height = frame.size
    box = (region[0] * width, region[1] * height, region[2] * width, region[3] * height)
    shrinking = size[0] < box[2] - box[0] and size[1] < box[3] - box[1]
    gap = REDUCING_GAP if shrinking else None
    return frame.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=gap)


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


def flip(frame: Frame, axis: Axis) -> Frame:
    return frame.transpose(_FLIPS[axis])
