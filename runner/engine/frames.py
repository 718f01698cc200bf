"""An image's frames, read from its headers without decoding a pixel: what decoding them would
cost is known before anything is decoded."""

import struct
from pathlib import Path
from typing import BinaryIO

MAX_ANIMATION_FRAMES = 2000
GIF_SCAN_BYTES = 64 * 1024  # read at once while looking for a GIF's next block
Size = tuple[int, int]


def gif_layout(path: Path, *, stop_after: int = MAX_ANIMATION_FRAMES) -> tuple[int, Size]:
    """A GIF's frames and the canvas decoding them ends up with, read by walking its blocks as
    Pillow does (bytes that start no block are skipped) without decoding any. The canvas is
    the logical screen grown to every frame's extent: Pillow grows it for a frame that reaches
    past it. Frames are counted no further than one past `stop_after` (Pillow's own count reads
    to the end, however far)."""
    with path.open("rb") as handle:
        screen = handle.read(13)  # signature, canvas size, flags, background, aspect
        if len(screen) < 13:
            return 0, (0, 0)
        width, height = struct.unpack("<HH", screen[6:10])
        _skip_colour_table(handle, screen[10])
        frames = 0
        while frames <= stop_after and (introducer := handle.read(1)) not in (b"", b";"):
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
