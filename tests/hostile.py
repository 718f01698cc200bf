"""Files made to cost more than they look: what the hostile-input tests upload."""

import io
import struct
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
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


def growing_video(
    *sizes: tuple[int, int],
    seconds_each: float = 1.0,
    rate: int = 24,
    bframes: int = 0,
    container: str = "mpegts",
) -> bytes:
    """An H.264 video whose header declares its first size: MPEG-TS segments, one per size,
    byte-concatenated, each starting after the one before (B-frames' delay left between
    them, so decode timestamps keep rising); with another `container`, remuxed into it
    (Matroska seeks to keyframes, MPEG-TS only near them). Decoders follow each new
    sequence header, so frames come out at every size; readers of the header see the first."""
    count = round(seconds_each * rate)
    joined = b"".join(
        _ts_segment(size, first=index * (count + bframes), count=count, rate=rate, bframes=bframes)
        for index, size in enumerate(sizes)
    )
    return joined if container == "mpegts" else _remuxed(joined, container)


def _remuxed(data: bytes, container: str) -> bytes:
    buffer = io.BytesIO()
    with av.open(io.BytesIO(data), "r") as source, av.open(buffer, "w", format=container) as output:
        video = source.streams.video[0]
        copied = output.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is not None:
                packet.stream = copied
                output.mux(packet)
    return buffer.getvalue()


def _ts_segment(size: tuple[int, int], *, first: int, count: int, rate: int, bframes: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mpegts") as output:
        video = output.add_stream("libx264", rate=rate)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.codec_context.gop_size = rate // 2
        video.codec_context.max_b_frames = bframes
        video.codec_context.options = {"preset": "ultrafast", "bf": str(bframes)}
        for number in range(first, first + count):
            frame = av.VideoFrame.from_ndarray(_moving(size, number), format="rgb24")
            frame.pts, frame.time_base = number, Fraction(1, rate)
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
    return buffer.getvalue()


def _moving(size: tuple[int, int], number: int) -> npt.NDArray[np.uint8]:
    """Stripes that move a little every frame: cheap to encode, never still."""
    width, height = size
    stripes = (np.arange(width, dtype=np.uint8)[None, :] * 8 + number * 4).repeat(height, 0)
    return np.stack([stripes, 255 - stripes, stripes // 2], axis=2)


def gif_cut_in_its_second_frame() -> bytes:
    """Two frames, the second ending after its colour table, before its data: Pillow's GIF
    reader raises IndexError seeking to it."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 4, 4, 0, 0, 0)
    return screen + one_pixel_frame() + one_pixel_frame()[:24]


def tiff_whose_second_page_has_no_width() -> bytes:
    """Two pages, the second's ImageWidth tag renamed to a private one: Pillow's TIFF reader
    raises TypeError ("Missing dimensions") counting the pages."""
    data = bytearray(paged_tiff((8, 8), (8, 8)))
    first = struct.unpack("<I", data[4:8])[0]
    entries = struct.unpack("<H", data[first : first + 2])[0]
    at = first + 2 + 12 * entries
    second = struct.unpack("<I", data[at : at + 4])[0]
    for entry in range(struct.unpack("<H", data[second : second + 2])[0]):
        tag = second + 2 + 12 * entry
        if struct.unpack("<H", data[tag : tag + 2])[0] == 256:  # ImageWidth
            data[tag : tag + 2] = struct.pack("<H", 0xC350)
    return bytes(data)


def avif_with_scrambled_data() -> bytes:
    """An AVIF whose coded picture (everything in its mdat box) is scrambled: libavif cannot
    decode it, and Pillow's AVIF reader raises RuntimeError."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "AVIF")
    data = bytearray(buffer.getvalue())
    payload = data.index(b"mdat") + 4
    data[payload:] = bytes(value ^ 0x5A for value in data[payload:])
    return bytes(data)


def many_page_tiff(pages: int) -> bytes:
    """A TIFF of `pages` pages of one grey pixel, all sharing one strip: about 100 bytes a page,
    each page's header (IFD) pointing to the next."""
    entry_count = 8
    ifd_bytes = 2 + 12 * entry_count + 4
    strip = 8 + pages * ifd_bytes
    short, long = 3, 4  # TIFF field types
    entries = (  # tag, type, value: width, length, bits, no compression, grey, strip, rows, bytes
        (256, short, 1), (257, short, 1), (258, short, 8), (259, short, 1), (262, short, 1),
        (273, long, strip), (278, short, 1), (279, long, 1),
    )  # fmt: skip
    data = bytearray(b"II*\x00" + struct.pack("<I", 8))
    for page in range(pages):
        data += struct.pack("<H", entry_count)
        for tag, kind, value in entries:
            packed = struct.pack("<HH", value, 0) if kind == short else struct.pack("<I", value)
            data += struct.pack("<HHI", tag, kind, 1) + packed
        data += struct.pack("<I", 8 + (page + 1) * ifd_bytes if page < pages - 1 else 0)
    return bytes(data + b"\x80")
