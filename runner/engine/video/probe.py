"""What a source video holds, read once from its header before any packet is touched, and
the one place where FFmpeg's errors about a file become EditFailed."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

import av
import av.container
from av.audio.stream import AudioStream
from av.stream import Stream
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from runner.engine.damage import said_of_the_data
from runner.engine.ops.base import Limits, known_seconds
from runner.engine.probe import declared_seconds, picture_stream
from runner.engine.video.codecs import COPYABLE, THREADS, Container
from service.kernel.errors import EditFailed, io_trouble, reason

Input = av.container.InputContainer
EPSILON_SECONDS = 0.001  # timestamps closer than this are the same instant
SEEK_STEP_SECONDS = 1.0  # how much further back a seek that landed too late tries first
MAX_PACKETS_TO_A_KEYFRAME = 2000  # looked at after a seek; none by then: it landed too late


@dataclass(frozen=True, slots=True)
class VideoTrack:
    codec: str
    width: int  # as stored, before rotation
    height: int
    rotation: int  # degrees counterclockwise a player turns the picture: 0, 90, 180, 270
    rate: Fraction  # average frames per second
    time_base: Fraction
    guessed_rate: Fraction | None  # FFmpeg's guess of the rate its frames are timed at
    pix_fmt: str | None
    extradata: bytes | None

    @property
    def display_size(self) -> tuple[int, int]:
        turned = self.rotation in (90, 270)
        return (self.height, self.width) if turned else (self.width, self.height)


@dataclass(frozen=True, slots=True)
class AudioTrack:
    codec: str
    rate: int  # samples per second
    layout: str
    time_base: Fraction
    extradata: bytes | None


@dataclass(frozen=True, slots=True)
class Source:
    path: Path
    container: Container | None  # None: a container we read but do not write
    origin: float  # seconds: the stream time of the first frame; trims count from here
    duration: float  # seconds
    video: VideoTrack
    audio: AudioTrack | None
    max_pixels: int  # of any frame decoded from it (EDITROOM_MAX_PIXELS)


def about_the_media(error: av.error.FFmpegError) -> bool:
    """Whether an FFmpeg error is about the media (final): every one is, a file or protocol it
    refuses to open on the media's behalf (EPERM, EACCES, ENOENT) included, except real I/O
    trouble of ours (io_trouble: ENOSPC, EIO...) and ENOMEM from the child's memory limit.
    Those pass through as they are, for the sandbox to report (the disk's retried, the limit
    named), as the image side does."""
    return not (isinstance(error, MemoryError) or io_trouble(error))


def failed_making(error: av.error.FFmpegError, what: str) -> NoReturn:
    """An FFmpeg error while making the result (filtering its frames or sound, encoding,
    writing) fails the edit naming `what` was being made, never the source being read
    meanwhile (reading() would blame it); I/O trouble and memory pass (about_the_media)."""
    if not about_the_media(error):
        raise error
    raise EditFailed(f"{what}: {reason(error)}") from None


# The origin (start time, in ticks) of each stream of each source open in reading(), as known
# when it was opened. FFmpeg sets a start it did not know at opening while demuxing, to a later
# packet's time: a Matroska file of one frame every 5 s then seemed to end 15 s early.
_ORIGINS: dict[int, dict[int, int]] = {}


def origin_ticks(stream: Stream) -> int:
    """Where the stream's time starts, in its ticks, as known when its file was opened (0 when
    unknown): every time of the stream is counted from it."""
    origins = _ORIGINS.get(id(stream.container))
    return origins[stream.index] if origins is not None else stream.start_time or 0


@contextmanager
def reading(path: Path) -> Iterator[Input]:
    """Open a source; an FFmpeg error about its data while it is open fails the edit, naming
    the file. Its streams' origins are kept as known now (origin_ticks)."""
    try:
        # Metadata not in UTF-8 is read with replacement characters (as the upload check does).
        with av.open(str(path), mode="r", metadata_errors="replace") as container:
            _ORIGINS[id(container)] = {s.index: s.start_time or 0 for s in container.streams}
            try:
                yield container
            finally:
                del _ORIGINS[id(container)]
    except av.error.FFmpegError as exc:
        if not (about_the_media(exc) or said_of_the_data(exc, path)):
            raise
        raise EditFailed(f"{path.name} cannot be read as a video: {reason(exc)}") from None


def probe(path: Path, *, limits: Limits, recorded_seconds: float | None = None) -> Source:
    """`recorded_seconds`: the duration the media's row records, when the edit is given it
    (the upload's probe, runner.engine.probe, recorded it)."""
    with reading(path) as container:
        video = _video_stream(container, path)
        first = _first_frame(video)
        source = Source(
            path=path,
            container=_container_name(container),
            origin=_origin(video),
            duration=_duration(container, video, path, recorded=recorded_seconds),
            video=_video_track(video, first),
            audio=_audio_track(container),
            max_pixels=limits.max_pixels,
        )
    _check(source, limits)
    if first is not None:
        check_frame(first, source)
    return source


def check_frame(frame: VideoFrame, source: Source) -> None:
    """Every frame decoded from a source passes here: a stream may grow past the size its
    header declares (a new H.264 sequence header mid-stream, which decoders follow), and
    the header is all probe and the upload checked. One comparison per frame."""
    if frame.width * frame.height > source.max_pixels:
        size = (frame.width, frame.height)
        declared = (source.video.width, source.video.height)
        unlike = None if size == declared else declared
        raise EditFailed(_too_many_pixels(source, size, declared=unlike))


def open_streams(container: Input) -> tuple[VideoStream, AudioStream | None]:
    """The streams editroom reads, as the upload checked them (picture_stream: never cover
    art), with their decoders bounded to THREADS."""
    video = _video_stream(container, Path(container.name))  # probe refused one without, too
    if not video.codec_context.is_open:
        video.codec_context.thread_count = THREADS
        video.codec_context.thread_type = "AUTO"
    audio = container.streams.audio[0] if container.streams.audio else None
    return video, audio


def seek_before(video: VideoStream, at: float) -> None:
    """Seek so that what is demuxed next starts with a keyframe at or before `at` (seconds
    after the stream's origin). A file without an index (MPEG-TS) is sought by timestamps
    alone, and may land past the keyframe that `at` needs: the frames from `at` to the next
    keyframe would be lost to a trim, and a still at `at` would find none. Such a landing is
    tried again from further back, each time twice as far, at last from the file's start."""
    container = video.container
    assert isinstance(container, Input)
    back = 0.0
    while at - back > 0:  # at most about log2(at) tries: each goes twice as far back
        target = seek_ticks(video, at - back)
        container.seek(target, stream=video, backward=True)
        if _first_keyframe_at_or_before(container, video, at):
            container.seek(target, stream=video, backward=True)
            return
        back = max(SEEK_STEP_SECONDS, 2 * back)
    container.seek(0)


def seek_ticks(video: VideoStream, at: float) -> int:
    """The ticks a seek for `at` seconds after the stream's origin asks for: it lands on the
    last keyframe at or before them (in a file with an index)."""
    assert video.time_base is not None
    return origin_ticks(video) + round(at / video.time_base)


def _first_keyframe_at_or_before(container: Input, video: VideoStream, at: float) -> bool:
    assert video.time_base is not None
    origin = origin_ticks(video)
    for count, packet in enumerate(container.demux(video)):
        if packet.is_keyframe and packet.pts is not None:
            return float((packet.pts - origin) * video.time_base) <= at + EPSILON_SECONDS
        if count >= MAX_PACKETS_TO_A_KEYFRAME:
            break
    return False


def _video_stream(container: Input, path: Path) -> VideoStream:
    if (video := picture_stream(container)) is None:
        raise EditFailed(f"{path.name} has no video stream")
    return video


def _video_track(stream: VideoStream, first: VideoFrame | None) -> VideoTrack:
    context = stream.codec_context
    return VideoTrack(
        codec=context.codec.canonical_name,
        width=context.width,
        height=context.height,
        rotation=0 if first is None else int(first.rotation) % 360 // 90 * 90,
        rate=stream.average_rate or stream.guessed_rate or Fraction(25),
        time_base=stream.time_base or Fraction(1, 90_000),
        guessed_rate=stream.guessed_rate or None,  # av_guess_frame_rate
        pix_fmt=context.pix_fmt,
        extradata=context.extradata,
    )


def _audio_track(container: Input) -> AudioTrack | None:
    if not container.streams.audio:
        return None
    stream = container.streams.audio[0]
    context = stream.codec_context
    return AudioTrack(
        codec=context.codec.canonical_name,
        rate=context.sample_rate or 48_000,
        layout=context.layout.name,
        time_base=stream.time_base or Fraction(1, context.sample_rate or 48_000),
        extradata=context.extradata,
    )


def _first_frame(stream: VideoStream) -> VideoFrame | None:
    """Only the display matrix of the first frame says the rotation; decoding one frame is
    cheap. None: the stream has no frame to decode (the rotation is then 0)."""
    container = stream.container
    stream.codec_context.thread_count = THREADS
    try:
        return next(iter(container.decode(stream)), None)  # type: ignore[attr-defined]
    except av.error.FFmpegError:
        return None
    finally:
        container.seek(0)  # type: ignore[attr-defined]


def _origin(stream: VideoStream) -> float:
    if stream.time_base is None:
        return 0.0
    return float(origin_ticks(stream) * stream.time_base)


def _duration(
    container: Input, stream: VideoStream, path: Path, *, recorded: float | None
) -> float:
    """As long as a player shows it: the longest of its picture and its sound, as the upload
    recorded it (declared_seconds, then _played as the upload measures)."""
    sound = container.streams.audio[0] if container.streams.audio else None
    if (declared := declared_seconds(container, stream, sound)) is not None:
        return declared
    if (known := known_seconds(recorded)) is not None:
        # What the upload measured as _played does: the edit need not read every packet again
        # to find it. A recorded 0 is no measurement (known_seconds).
        return known
    return _played(container, stream, sound, path)


def _played(container: Input, stream: VideoStream, sound: AudioStream | None, path: Path) -> float:
    """A header that says nothing of how long the video lasts (a live WebM, as a browser's
    MediaRecorder writes it) is taken at its data's word, as the upload check took it: how far
    its picture's or its sound's packets play, whichever further (the last frame is on screen
    until the sound ends). Measured here only when the edit was not given what the upload
    measured (a file no upload checked: a test's, a benchmark's)."""
    ends: dict[int, float] = {}  # seconds on each stream's timeline, by stream index
    for packet in container.demux(*(s for s in (stream, sound) if s is not None)):
        if packet.pts is not None and packet.time_base is not None:
            end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            ends[packet.stream.index] = max(ends.get(packet.stream.index, end), end)
    container.seek(0)
    if stream.index not in ends or stream.time_base is None:
        raise EditFailed(
            f"{path.name} has no timed picture to say how long it is; it may be truncated"
        )
    return max(ends.values()) - float(origin_ticks(stream) * stream.time_base)


def _container_name(container: Input) -> Container | None:
    """The container a source's own edits are written back to when no format is asked."""
    names = container.format.name.split(",")
    if "mp4" in names:
        brand = container.metadata.get("major_brand", "")
        return "mov" if brand.strip() == "qt" else "mp4"
    if "matroska" in names:
        codecs = {
            stream.codec_context.codec.canonical_name
            for stream in container.streams
            if stream.codec_context
        }
        return "webm" if codecs <= COPYABLE["webm"] else "mkv"
    return None


def _check(source: Source, limits: Limits) -> None:
    name = source.path.name
    if source.duration > limits.max_video_seconds:
        raise EditFailed(
            f"{name} lasts {source.duration:.1f} s; videos of at most "
            f"{limits.max_video_seconds:g} s are accepted"
        )
    size = (source.video.width, source.video.height)
    if size[0] * size[1] > limits.max_pixels:
        raise EditFailed(_too_many_pixels(source, size))


def _too_many_pixels(
    source: Source, size: tuple[int, int], *, declared: tuple[int, int] | None = None
) -> str:
    """`declared`: the size the header declares, when a frame decoded is not of that size."""
    width, height = size
    pixels = f"{width}x{height}, {width * height:,} pixels"
    if declared is None:
        said = f"frames of {pixels} each"
    else:
        said = f"a frame of {pixels}, though its header declares {declared[0]}x{declared[1]}"
    return (
        f"{source.path.name} has {said}; the limit is {source.max_pixels:,} (EDITROOM_MAX_PIXELS)"
    )
