"""Files made to cost more than they look: what the hostile-input tests upload."""

import io
import struct

import numpy as np
from PIL import Image


def one_pixel_frame(at: tuple[int, int] = (0, 0)) -> bytes:
    """A frame of one black pixel: graphic control (no delay), an image descriptor with a
    two-colour local table, then LZW data (code size 2, one sub-block, its end)."""
    return (
        b"\x21\xf9\x04\x00\x00\x00\x00\x00"
        + b"\x2c" + struct.pack("<HHHHB", *at, 1, 1, 0x80)
        + b"\x00\x00\x00\xff\xff\xff"
        + b"\x02\x02\x44\x01\x00"
    )  # fmt: skip


def frame_bomb_gif(
    *, frames: int = 1999, side: int = 7000, screen_side: int | None = None, between: bytes = b""
) -> bytes:
    """`frames` one-pixel frames on a side x side canvas: a few dozen kilobytes that cost the
    whole canvas to decode for every frame (a minute of CPU for the defaults). With a smaller
    `screen_side`, the header declares that and the frames sit at the far corner, which grows
    the canvas as they are decoded; `between` goes between frames (bytes Pillow skips)."""
    declared = side if screen_side is None else screen_side
    screen = b"GIF89a" + struct.pack("<HHBBB", declared, declared, 0, 0, 0)
    frame = one_pixel_frame((side - 1, side - 1) if screen_side is not None else (0, 0))
    return screen + (frame + between) * frames + b"\x3b"


def growing_gif(*, side: int, screen_side: int = 10) -> bytes:
    """Three one-pixel frames on a small screen, the second at the far corner of a side x side
    square: Pillow decodes the first at the screen's size, then grows the canvas for the
    second, so the frames come out of two sizes."""
    screen = b"GIF89a" + struct.pack("<HHBBB", screen_side, screen_side, 0, 0, 0)
    far = one_pixel_frame((side - 1, side - 1))
    return screen + one_pixel_frame() + far + one_pixel_frame() + b"\x3b"


def filler_jpeg(*, declared: tuple[int, int] = (7000, 7000)) -> bytes:
    """A 320x240 JPEG of noise whose header says `declared`: it ends with a proper end marker,
    and libjpeg fills what its data does not cover with grey without a word."""
    noise = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    data = bytearray(buffer.getvalue())
    frame_header = data.index(b"\xff\xc0")  # baseline: height and width 5 bytes in
    data[frame_header + 5 : frame_header + 9] = struct.pack(">HH", declared[1], declared[0])
    return bytes(data)


def paged_tiff(*sizes: tuple[int, int]) -> bytes:
    """A TIFF with one blank page of each size, deflate-compressed: a page that costs
    hundreds of megabytes decoded is a few hundred kilobytes on disk."""
    pages = [Image.new("L", size, number) for number, size in enumerate(sizes)]
    buffer = io.BytesIO()
    pages[0].save(
        buffer, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_adobe_deflate"
    )
    return buffer.getvalue()


def camera_mpo(*sizes: tuple[int, int]) -> bytes:
    """An MPO (a camera's JPEG with more pictures after the first) of one picture per size."""
    pictures = [Image.new("RGB", size, (number * 40, 0, 0)) for number, size in enumerate(sizes)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "MPO", save_all=True, append_images=pictures[1:])
    return buffer.getvalue()
