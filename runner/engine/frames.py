"""An image's frames, read from its headers without decoding a pixel: what decoding them would
cost is known before anything is decoded. The upload check (runner.engine.probe) and an edit's
decoding (runner.engine.image.decoding) both judge a file by them.

Every frame has a size of its own in a TIFF (its pages) and an MPO (its pictures), read from
the frame's header as Pillow seeks to it. An animation's frames are all its canvas: Pillow
composes them on it, a GIF's grown to every frame's extent."""

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from service.kernel.wording import counted

MAX_ANIMATION_FRAMES = 2000
# An edit holds every frame (or page) it edits together in memory at once: together they may
# hold this many times the pixels of one image (EDITROOM_MAX_PIXELS). The upload check holds
# them to it too, so that what is accepted can be edited.
EDITED_PIXELS_PER_LIMIT = 4
GIF_SCAN_BYTES = 64 * 1024  # read at once while looking for a GIF's next block
Size = tuple[int, int]
# Formats whose frames are one picture's, edited together and so of one size: an animation's
# frames, a TIFF's pages. An MPO's other pictures are previews and depth maps: only its first,
# the photograph, is edited.
EDITED_TOGETHER = ("GIF", "WEBP", "PNG", "AVIF", "TIFF")
_SIZED_PER_FRAME = ("TIFF", "MPO")
_NOUNS = {"TIFF": "page", "MPO": "picture"}  # what a frame is called in messages


@dataclass(frozen=True, slots=True)
class Frames:
    """An image's frames as decoding them would make them: each one's size, in order."""

    sizes: tuple[Size, ...]
    noun: str = "frame"  # a TIFF's page, an MPO's picture, an animation's frame

    @property
    def count(self) -> int:
        return len(self.sizes)

    @property
    def pixels(self) -> int:
        return sum(width * height for width, height in self.sizes)

    @property
    def one_size(self) -> bool:
        return len(set(self.sizes)) <= 1

    def named(self, index: int) -> str:
        """How a message names the frame at `index`: "page 2 of 13"."""
        return f"{self.noun} {index + 1} of {self.count:,}"

    def declared(self) -> str:
        """What the frames are, in a message: "1,999 frames on a 7000x7000 canvas"."""
        width, height = max(self.sizes, key=lambda size: size[0] * size[1])
        if not self.one_size:
            return f"{counted(self.count, self.noun)} of up to {width}x{height}"
        if self.noun == "frame":
            return f"{counted(self.count, 'frame')} on a {width}x{height} canvas"
        return f"{counted(self.count, self.noun)} of {width}x{height}"

    def unlike_sizes(self) -> str | None:
        """Why these frames cannot be edited together, when they differ in size."""
        first = self.sizes[0]
        index = next((at for at, size in enumerate(self.sizes) if size != first), None)
        if index is None:
            return None
        width, height = self.sizes[index]
        return (
            f"{self.noun} {index + 1} is {width}x{height} but {self.noun} 1 is "
            f"{first[0]}x{first[1]}; editroom edits all the {self.noun}s of an image together, "
            f"so they must be of one size: save {self.noun}s of other sizes as images of "
            "their own"
        )


def read_frames(
    image: Image.Image, path: Path, *, stop_after: int | None = MAX_ANIMATION_FRAMES
) -> Frames:
    """The frames of `image`, opened from `path`, counted no further than one past
    `stop_after` (None: all of them). Leaves `image` at its first frame."""
    noun = _NOUNS.get(image.format or "", "frame")
    if image.format == "GIF":
        count, canvas = gif_layout(path, stop_after=stop_after)
        width, height = max(image.size[0], canvas[0]), max(image.size[1], canvas[1])
        return Frames(((width, height),) * max(count, 1), noun)
    if image.format == "TIFF":
        return Frames(_tiff_page_sizes(image, stop_after=stop_after), noun)
    count = int(getattr(image, "n_frames", 1))
    if stop_after is not None:
        count = min(count, stop_after + 1)
    if image.format not in _SIZED_PER_FRAME or count == 1:
        return Frames((image.size,) * count, noun)
    return Frames(_sizes_from_headers(image, count), noun)


def _sizes_from_headers(image: Image.Image, count: int) -> tuple[Size, ...]:
    """Each MPO picture's size: seeking to one reads its header, nothing more."""
    sizes = []
    for index in range(count):
        image.seek(index)
        sizes.append(image.size)
    image.seek(0)
    return tuple(sizes)


def _tiff_page_sizes(image: Image.Image, *, stop_after: int | None) -> tuple[Size, ...]:
    """Each TIFF page's size, seeking from page to page (which reads its header, nothing
    more) no further than one past `stop_after`. Not Pillow's own count: it reads every
    page's header first, however many, in time growing with their square (40,000 pages of
    100 bytes, 4 MB, took 13 s)."""
    sizes = [image.size]
    while stop_after is None or len(sizes) <= stop_after:
        try:
            image.seek(len(sizes))
        except EOFError:
            break
        sizes.append(image.size)
    image.seek(0)
    return tuple(sizes)


def gif_layout(path: Path, *, stop_after: int | None = MAX_ANIMATION_FRAMES) -> tuple[int, Size]:
    """A GIF's frames and the canvas decoding them ends up with, read by walking its blocks as
    Pillow does (bytes that start no block are skipped) without decoding any. The canvas is
    the logical screen grown to every frame's extent: Pillow grows it for a frame that reaches
    past it. Frames are counted no further than one past `stop_after` (None: to the end, as
    Pillow's own count reads, however far)."""
    with path.open("rb") as handle:
        screen = handle.read(13)  # signature, canvas size, flags, background, aspect
        if len(screen) < 13:
            return 0, (0, 0)
        width, height = struct.unpack("<HH", screen[6:10])
        _skip_colour_table(handle, screen[10])
        frames = 0
        while stop_after is None or frames <= stop_after:
            introducer = handle.read(1)
            if introducer in (b"", b";"):
                break
            if introducer == b",":  # an image descriptor: a frame
                descriptor = handle.read(9)
                if len(descriptor) < 9:
                    break
                left, top, frame_width, frame_height = struct.unpack("<HHHH", descriptor[:8])
                width, height = max(width, left + frame_width), max(height, top + frame_height)
                _skip_colour_table(handle, descriptor[8])
                handle.read(1)  # the LZW code size
                _skip_sub_blocks(handle)
                frames += 1
            elif introducer == b"!":  # an extension: its label, then its sub-blocks
                handle.read(1)
                _skip_sub_blocks(handle)
            else:
                _skip_to_block(handle)
    return frames, (width, height)


def _skip_colour_table(handle: BinaryIO, flags: int) -> None:
    if flags & 0x80:
        handle.seek(3 * 2 ** ((flags & 0x07) + 1), 1)


def _skip_sub_blocks(handle: BinaryIO) -> None:
    while (length := handle.read(1)) and length[0]:
        handle.seek(length[0], 1)


def _skip_to_block(handle: BinaryIO) -> None:
    """To the next byte that starts a block, an image or the end, as Pillow skips the rest."""
    while chunk := handle.read(GIF_SCAN_BYTES):
        found = [at for at in map(chunk.find, (b"!", b",", b";")) if at >= 0]
        if found:
            handle.seek(min(found) - len(chunk), 1)
            return
