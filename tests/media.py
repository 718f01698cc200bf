"""Real media files made in the tests: images with Pillow, videos with PyAV."""

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

EXIF_ORIENTATION = 0x0112


def gradient(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """A picture with structure (so encoders and comparisons have something to chew on)."""
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None].repeat(width, 1)
    rgb = np.stack([x, y, 255 - x], axis=2)
    return Image.fromarray(rgb, "RGB").convert(mode)


def image_bytes(
    fmt: str, *, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: object
) -> bytes:
    buffer = io.BytesIO()
    gradient(*size, mode=mode).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def exif_rotated_jpeg(size: tuple[int, int] = (64, 48), orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    return image_bytes("JPEG", size=size, exif=exif.tobytes())


def animated(fmt: str, *, frames: int = 4, size: tuple[int, int] = (32, 24)) -> bytes:
    pictures = [gradient(*size).rotate(90 * i) for i in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(
        buffer, format=fmt, save_all=True, append_images=pictures[1:], duration=100, loop=0
    )
    return buffer.getvalue()


def write_video(
    path: Path,
    *,
    container: str = "mp4",
    vcodec: str = "libx264",
    acodec: str | None = "aac",
    seconds: float = 1.0,
    size: tuple[int, int] = (64, 48),
    fps: int | Fraction = 12,
    pix_fmt: str = "yuv420p",
    sound_seconds: float | None = None,
    title: str | None = None,
    live: bool = False,
) -> Path:
    """A short video whose frames change over time, with a tone when acodec is given (as long
    as the picture unless `sound_seconds` says otherwise). A `live` Matroska or WebM is written
    as a browser's MediaRecorder writes one: no duration in its header, no index."""
    options = {"live": "1"} if live else {}
    with av.open(str(path), "w", format=container, options=options) as output:
        if title is not None:
            output.metadata["title"] = title
        video = output.add_stream(vcodec, rate=fps)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = size
        video.pix_fmt = pix_fmt
        audio = output.add_stream(acodec, rate=48000) if acodec else None  # all streams first
        assert audio is None or isinstance(audio, av.AudioStream)
        frames = round(seconds * fps)
        for index in range(frames):
            picture = gradient(*size).rotate(index * 360 / max(frames, 1))
            frame = av.VideoFrame.from_ndarray(np.asarray(picture), format="rgb24")
            output.mux(video.encode(frame))
        output.mux(video.encode(None))
        if audio is not None:
            _write_tone(output, audio, seconds if sound_seconds is None else sound_seconds)
    return path


def live_at_its_start(path: Path, *, frames: int, sound_seconds: float | None = None) -> Path:
    """A live WebM of `frames` frames, every packet timed at 0 s and saying no length: its
    picture plays no further than its start. With `sound_seconds`, Opus that long follows."""
    acodec = None if sound_seconds is None else "libopus"
    live = write_video(path.with_name(f"{path.stem}-source.webm"), container="webm",
                       vcodec="libvpx-vp9", acodec=acodec, live=True,
                       sound_seconds=sound_seconds)  # fmt: skip
    with (
        av.open(str(live)) as source,
        av.open(str(path), "w", format="webm", options={"live": "1"}) as output,
    ):
        stream = output.add_stream_from_template(source.streams.video[0])
        sound = [output.add_stream_from_template(s) for s in source.streams.audio]  # all first
        timed = (p for p in source.demux(source.streams.video[0]) if p.pts is not None)
        for packet, _ in zip(timed, range(frames), strict=False):
            packet.pts, packet.dts, packet.duration, packet.stream = 0, 0, 0, stream
            output.mux(packet)
        source.seek(0)  # the picture's demuxing read past sound packets
        for heard in source.demux(source.streams.audio) if sound else ():
            if heard.pts is not None:
                heard.stream = sound[0]
                output.mux(heard)
    return path


def _write_tone(
    output: av.container.OutputContainer, audio: av.AudioStream, seconds: float
) -> None:
    rate = 48000
    samples_per_frame = audio.codec_context.frame_size or 1024
    total = int(seconds * rate)
    for start in range(0, total, samples_per_frame):
        count = min(samples_per_frame, total - start)
        t = (np.arange(start, start + count) / rate).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        layout = "mono"
        frame = av.AudioFrame.from_ndarray(tone, format="flt", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for converted in _resampled(audio, frame):
            output.mux(audio.encode(converted))
    output.mux(audio.encode(None))


def _resampled(audio: av.AudioStream, frame: av.AudioFrame) -> list[av.AudioFrame]:
    resampler = av.AudioResampler(
        format=audio.codec_context.format, layout=audio.codec_context.layout, rate=48000
    )
    return resampler.resample(frame)


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture: a decompression bomb's calling card."""
    import struct
    import zlib

    data = bytearray(image_bytes("PNG", size=(1, 1)))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def declaring_duration(path: Path, seconds: float) -> Path:
    """The Matroska file at `path` with the duration its header declares changed to `seconds`,
    its data left as it is (a header is no promise about the data)."""
    import struct

    data = bytearray(path.read_bytes())
    at = data.index(b"\x44\x89\x88")  # Segment Info's Duration: an 8-byte float, in ms
    data[at + 3 : at + 11] = struct.pack(">d", seconds * 1000)
    path.write_bytes(bytes(data))
    return path


def declaring_no_length_mp4(path: Path) -> Path:
    """The MP4 file at `path` with every duration its header declares (the movie's, and each
    track's and its media's, the sound's too) set to 0, its data left as it is: FFmpeg then
    says each stream lasts 0 ticks and the file nothing."""
    import struct

    data = bytearray(path.read_bytes())
    for at in _declared_durations(bytes(data)):
        data[at : at + 4] = struct.pack(">I", 0)
    path.write_bytes(bytes(data))
    return path


# Where a version 0 box's duration is, past its size and type (its version, flags and the fields
# before it); and the boxes that hold those boxes.
_DURATION_AT = {b"mvhd": 16, b"tkhd": 20, b"mdhd": 16}
_HOLDING_BOXES = (b"moov", b"trak", b"mdia")


def _declared_durations(data: bytes, offset: int = 0) -> list[int]:
    """The offsets of the durations every mvhd, tkhd and mdhd box in `data` declares."""
    found = []
    for kind, start, end in _boxes(data):
        if kind in _HOLDING_BOXES:
            found += _declared_durations(data[start + 8 : end], offset + start + 8)
        elif kind in _DURATION_AT:
            found.append(offset + start + 8 + _DURATION_AT[kind])
    return found


def with_cover_art_first(path: Path, *, size: tuple[int, int] = (32, 32)) -> Path:
    """The MP4 video at `path` given a cover picture (a PNG of `size`) that FFmpeg lists as
    the first video stream, before the video's: the metadata box that holds it (udta) is moved
    before the tracks, where FFmpeg meets it first, as in files some taggers write."""
    target = path.with_name(f"covered-{path.name}")
    with av.open(str(path)) as source, av.open(str(target), "w", format="mp4") as output:
        streams = {s.index: output.add_stream_from_template(s) for s in source.streams}
        cover = output.add_stream("png")
        assert isinstance(cover, av.VideoStream)
        cover.width, cover.height = size
        cover.pix_fmt = "rgb24"
        cover.disposition = av.stream.Disposition.attached_pic
        picture = av.VideoFrame.from_ndarray(np.asarray(gradient(*size)), format="rgb24")
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                output.mux(packet)
        output.mux(cover.encode(picture) + cover.encode(None))
    data = target.read_bytes()
    start, end = next((a, b) for kind, a, b in _boxes(data) if kind == b"moov")
    inside = data[start + 8 : end]  # past the moov box's size and type
    children = sorted(_boxes(inside), key=lambda box: box[0] != b"udta")  # stable: udta first
    moved = b"".join(inside[a:b] for _, a, b in children)
    target.write_bytes(data[: start + 8] + moved + data[end:])
    return target


def _boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """The ISO BMFF boxes `data` is made of, one after another: (type, start, end)."""
    import struct

    boxes, at = [], 0
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        boxes.append((kind, at, at + length))
        at += length
    return boxes


def titled_in_latin1(path: Path) -> Path:
    """A Matroska video whose title tag is Latin-1, not the UTF-8 the format asks for, as
    older tools write it: "Caf\xe9"."""
    write_video(path, container="matroska", title="Café!")
    data = path.read_bytes().replace("Café!".encode(), "Café!".encode("latin-1") + b" ")
    path.write_bytes(data)
    return path


def write_audio_only(path: Path, *, container: str = "ogg", codec: str = "libopus") -> Path:
    with av.open(str(path), "w", format=container) as output:
        audio = output.add_stream(codec, rate=48000)
        assert isinstance(audio, av.AudioStream)
        _write_tone(output, audio, 0.5)
    return path


def faststart(path: Path) -> Path:
    """The same video remuxed with its index first."""
    target = path.with_name(f"faststart-{path.name}")
    with (
        av.open(str(path)) as source,
        av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as output,
    ):
        streams = {s.index: output.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            output.mux(packet)
    return target


def striped_video(path: Path, size: tuple[int, int]) -> Path:
    """One frame of grey stripes, quick to write at any size (media.Spec's texture is not, this
    large), sharp and exposed enough to be kept by frames=best."""
    width, height = size
    with av.open(str(path), "w") as output:
        stream = output.add_stream("libx264", rate=1)
        assert isinstance(stream, av.VideoStream)
        (stream.width, stream.height), stream.pix_fmt = size, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast"}
        luma = np.tile(np.repeat(np.array([64, 192], np.uint8), 8), width // 16 + 1)[:width]
        chroma = np.full((height // 2, width), 128, np.uint8)  # U then V, half height each
        planes = np.vstack([np.broadcast_to(luma, (height, width)), chroma])
        frame = av.VideoFrame.from_ndarray(planes, format="yuv420p")
        frame.pts = 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path
