"""Small videos made for the tests with PyAV, and probes of what the pipeline wrote.

Every frame shows its number as a row of black and white blocks (so a test can read which
frame it is looking at after any re-encode), over a moving texture (so encoders have detail
to keep). The sound is silence with a short loud burst at every whole second of the
source, so sync can be measured against the frame numbers."""

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from av.video.frame import VideoFrame
from PIL import Image, ImageSequence

BITS = 10  # frame numbers up to 1023
BURST_SECONDS = 0.01
AUDIO_FRAME_SECONDS = 1024 / 48_000  # how far copied sound may be off
Pixels = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Spec:
    seconds: float = 3.0
    size: tuple[int, int] = (160, 96)
    rate: int = 24
    container: str = "mp4"
    vcodec: str = "libx264"
    acodec: str | None = "aac"
    sample_rate: int = 48_000
    gop: int = 12
    bframes: int = 0
    rotation: int = 0
    vfr: bool = False  # frame durations alternate 1 and 2 ticks of 1/rate
    gap_after_seconds: float | None = None  # a 1 s jump in timestamps after this time
    options: tuple[tuple[str, str], ...] = ()  # extra encoder options
    sound_seconds: float | None = None  # how long the sound lasts; None: as the picture


def frame_image(number: int, size: tuple[int, int]) -> Pixels:
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    texture = ((x * 7 + y * 5 + number * 3) % 64 + ((x // 8 + y // 8) % 2) * 96).astype(np.uint8)
    image = np.stack([texture, 255 - texture, texture // 2], axis=-1)
    block = width // BITS
    for bit in range(BITS):
        value = 255 if number >> bit & 1 else 0
        image[: height // 4, bit * block : (bit + 1) * block] = value
    return image


def read_number(frame: VideoFrame, *, turned: int = 0) -> int:
    """The number a frame shows; `turned`: the degrees (anticlockwise) the source's rotation
    metadata turned it by when the result was made upright."""
    grey = np.rot90(frame.to_ndarray(format="gray"), k=-turned // 90)
    height, width = grey.shape
    block = width // BITS
    row = height // 8
    bits = [grey[row, bit * block + block // 2] > 128 for bit in range(BITS)]
    return sum(1 << bit for bit, on in enumerate(bits) if on)


def make_video(path: Path, spec: Spec = Spec()) -> Path:
    with av.open(str(path), "w") as output:
        video = output.add_stream(spec.vcodec, rate=spec.rate)
        assert isinstance(video, av.VideoStream)
        video.width, video.height = spec.size
        video.pix_fmt = "yuv420p"
        video.codec_context.time_base = Fraction(1, spec.rate * 2)
        video.codec_context.gop_size = spec.gop
        video.codec_context.max_b_frames = spec.bframes
        video.codec_context.options = {**_quiet(spec), **dict(spec.options)}
        if spec.rotation:
            video.set_display_rotation(spec.rotation)
        audio = _audio_stream(output, spec)
        _write_frames(output, video=video, spec=spec)
        if audio is not None:
            _write_audio(output, audio=audio, spec=spec)
    return path


def _quiet(spec: Spec) -> dict[str, str]:
    if spec.vcodec == "libx264":
        return {"preset": "ultrafast" if not spec.bframes else "veryfast", "bf": str(spec.bframes)}
    if spec.vcodec == "libvpx-vp9":
        return {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    return {}


def _audio_stream(output: av.container.OutputContainer, spec: Spec) -> av.AudioStream | None:
    if spec.acodec is None:
        return None
    audio = output.add_stream(spec.acodec, rate=spec.sample_rate)
    assert isinstance(audio, av.AudioStream)
    audio.layout = "stereo"
    return audio


def frame_times(spec: Spec) -> list[float]:
    """When each frame is shown, in seconds."""
    times, at = [], 0.0
    count = round(spec.seconds * spec.rate)
    for number in range(count):
        times.append(at)
        ticks = (1 if number % 2 else 3) if spec.vfr else 2  # of 1/(2*rate) seconds
        at += ticks / (2 * spec.rate)
        if spec.gap_after_seconds is not None and times[-1] < spec.gap_after_seconds <= at:
            at += 1.0
    return times


def _write_frames(
    output: av.container.OutputContainer, *, video: av.VideoStream, spec: Spec
) -> None:
    for number, at in enumerate(frame_times(spec)):
        frame = VideoFrame.from_ndarray(frame_image(number, spec.size), format="rgb24")
        frame.pts, frame.time_base = round(at * spec.rate * 2), Fraction(1, spec.rate * 2)
        output.mux(video.encode(frame))
    output.mux(video.encode(None))


def _write_audio(
    output: av.container.OutputContainer, *, audio: av.AudioStream, spec: Spec
) -> None:
    total = round(frame_times(spec)[-1] * spec.sample_rate + spec.sample_rate / spec.rate)
    if spec.sound_seconds is not None:
        total = round(spec.sound_seconds * spec.sample_rate)
    samples = np.zeros((2, total), dtype=np.float32)
    burst = round(BURST_SECONDS * spec.sample_rate)
    for second in range(int(total / spec.sample_rate) + 1):
        start = second * spec.sample_rate
        samples[:, start : start + burst] = 0.8
    chunk = 1024
    for start in range(0, total, chunk):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[:, start : start + chunk]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts = spec.sample_rate, start
        output.mux(audio.encode(frame))
    output.mux(audio.encode(None))


@dataclass(frozen=True)
class Facts:
    """What a prober says about a written file."""

    format: str
    codecs: dict[str, str]  # stream type -> codec name
    size: tuple[int, int]
    rotation: int
    duration: float  # seconds, of the container
    video_start: float  # seconds: when the first frame is shown
    audio_start: float | None


def facts(path: Path) -> Facts:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        first = next(container.decode(video))
        return Facts(
            format=container.format.name,
            codecs={s.type: s.codec_context.codec.canonical_name for s in container.streams},
            size=(video.codec_context.width, video.codec_context.height),
            rotation=first.rotation,
            duration=(container.duration or 0) / av.time_base,
            video_start=first.time or 0.0,
            audio_start=_start(audio),
        )


def _start(stream: av.AudioStream | None) -> float | None:
    if stream is None:
        return None
    assert stream.start_time is not None and stream.time_base is not None
    return float(stream.start_time * stream.time_base)


def stream_end(path: Path, kind: str = "video") -> float:
    """Where a stream's last packet ends, in seconds (a container's duration may be the
    other stream's, or count a last audio packet whole)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        assert stream.time_base is not None
        ends = [
            (packet.pts + (packet.duration or 0)) * stream.time_base
            for packet in container.demux(stream)
            if packet.pts is not None
        ]
    return float(max(ends))


def gif_delays_ms(path: Path) -> list[int]:
    """How long a GIF shows each of its frames, in milliseconds (each a whole 10 ms: GIF
    counts its delays in hundredths of a second), read as a browser reads them."""
    with Image.open(path) as gif:
        return [int(frame.info["duration"]) for frame in ImageSequence.Iterator(gif)]


def numbers(path: Path, *, turned: int = 0) -> list[int]:
    """The frame number shown by every frame of the file, in display order."""
    return [number for _, number in shown(path, turned=turned)]


def shown(path: Path, *, turned: int = 0) -> list[tuple[float, int]]:
    """When each frame is shown, in seconds, and the number it shows."""
    with av.open(str(path)) as container:
        return [
            (frame.time or 0.0, read_number(frame, turned=turned))
            for frame in container.decode(video=0)
        ]


def bursts(path: Path) -> list[float]:
    """When each loud burst starts, in seconds on the file's timeline."""
    with av.open(str(path)) as container:
        frames = list(container.decode(audio=0))
    rate = frames[0].sample_rate
    start = frames[0].time or 0.0
    samples = np.concatenate(
        [
            np.abs(
                f.to_ndarray().reshape(f.samples, -1) if f.format.is_packed else f.to_ndarray().T
            ).max(axis=1)
            for f in frames
        ]
    )
    loud = samples > 0.3
    rising = np.flatnonzero(loud[1:] & ~loud[:-1]) + 1
    if loud[0]:
        rising = np.concatenate([[0], rising])
    return [start + index / rate for index in rising]


def packets(path: Path, kind: str = "video") -> list[bytes]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def moov_before_mdat(path: Path) -> bool:
    data = path.read_bytes()
    return 0 <= data.find(b"moov") < data.find(b"mdat")


def assert_in_sync(path: Path, *, specs: Sequence[Spec] = (Spec(),), turned: int = 0) -> None:
    """Every burst is heard with the picture its source showed it with (within one audio frame).

    The frame on screen when a burst is heard names a source frame; the burst's time in that
    source is the frame's time there plus how long the frame has been on screen, and the
    source has its bursts on whole seconds. Concatenated parts each number their frames from
    0 again: `specs` describes the parts in order. A frame repeated to fill a constant rate
    counts from its first showing."""
    starts = _source_starts(shown(path, turned=turned), specs)
    heard = bursts(path)
    assert heard, "no burst in the result"
    for burst in heard:
        at, source_at = next((s for s in reversed(starts) if s[0] <= burst), starts[0])
        source_time = source_at + burst - at
        assert abs(source_time - round(source_time)) <= AUDIO_FRAME_SECONDS + 0.002, (
            f"burst at {burst:.3f} s is {source_time:.3f} s of its source; heard: {heard}"
        )


def _source_starts(
    frames: list[tuple[float, int]], specs: Sequence[Spec]
) -> list[tuple[float, float]]:
    """(result time, source time) where each run of one source frame starts."""
    starts: list[tuple[float, float]] = []
    part, previous = 0, -1
    for at, number in frames:
        if number == previous:
            continue
        if number < previous:
            part += 1
        starts.append((at, frame_times(specs[part])[number]))
        previous = number
    return starts
