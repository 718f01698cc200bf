"""The whole edit decided before a packet is read: which parts of which files make the
result (a timeline of segments), what it is written as, and for each stream whether its
packets are copied or re-encoded. The pipeline then does it all in one pass."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal
from uuid import UUID

from runner.engine.ops.base import Limits, Operation
from runner.engine.video.codecs import (
    CONTAINERS,
    COPYABLE,
    DEFAULT_AUDIO,
    DEFAULT_VIDEO,
    ENCODABLE_AUDIO,
    ENCODABLE_VIDEO,
    OPUS_RATE_HZ,
    AudioCodec,
    Container,
    VideoCodec,
    refusal,
)
from runner.engine.video.concat import Concat
from runner.engine.video.convert import Format
from runner.engine.video.frames import Frames
from runner.engine.video.probe import Source
from runner.engine.video.resize import Resize
from runner.engine.video.thumbnail import Thumbnail
from runner.engine.video.trim import Trim
from service.kernel.errors import EditFailed

SMART_CUT_CODECS = frozenset({"h264", "hevc", "vp9"})  # whose partial GOPs we re-encode
SMART_CUT_PIX_FMT = "yuv420p"
CUT_TOLERANCE_SECONDS = 0.001  # an END this close to the source's end cuts nothing
GIF_MAX_SIDE_PIXELS = 480  # unless resize asks otherwise: GIFs are large
GIF_MAX_RATE = Fraction(15)  # frames per second
Still = Thumbnail | Frames


@dataclass(frozen=True, slots=True)
class Segment:
    source: Source
    start: float  # seconds after the source's origin
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class VideoPlan:
    copy: bool  # packets copied (with a smart cut where a segment starts between keyframes)
    codec: VideoCodec | None  # the encoder's, when not copied (None: gif)
    size: tuple[int, int]  # width, height of the result as displayed
    rate: Fraction | None  # constant frame rate to conform to; None keeps the timestamps


@dataclass(frozen=True, slots=True)
class AudioPlan:
    mode: Literal["copy", "encode", "none"]
    codec: AudioCodec | None = None  # the encoder's, when encoded
    rate: int = 0  # samples per second of the result, when encoded


@dataclass(frozen=True, slots=True)
class Plan:
    segments: tuple[Segment, ...]
    container: Container
    accurate: bool  # trims cut on the exact frame
    video: VideoPlan
    audio: AudioPlan
    still: Still | None

    @property
    def duration(self) -> float:
        return sum(segment.duration for segment in self.segments)


@dataclass
class _Request:
    segments: list[Segment]
    container: Container
    vcodec: VideoCodec | None = None
    acodec: AudioCodec | None = None
    size: tuple[int | None, int | None] | None = None
    accurate: bool | None = None
    still: Still | None = None


def make_plan(
    source: Source,
    operations: Sequence[Operation],
    *,
    others: Mapping[UUID, Source],
    limits: Limits,
) -> Plan:
    request = _Request([Segment(source, 0.0, source.duration)], source.container or "mp4")
    for operation in operations:
        _apply(request, operation, others=others)
    if not request.segments:
        raise EditFailed("the trims leave nothing of the video")
    plan = _decide(request, limits)
    if plan.duration > limits.max_video_seconds:
        raise EditFailed(
            f"the result would last {plan.duration:.1f} s; "
            f"at most {limits.max_video_seconds:g} s are allowed"
        )
    return plan


def _apply(request: _Request, operation: Operation, *, others: Mapping[UUID, Source]) -> None:
    if isinstance(operation, Trim):
        request.segments = trimmed(request.segments, start=operation.start, end=operation.end)
        request.accurate = bool(request.accurate) or operation.accurate
    elif isinstance(operation, Format):
        request.container = operation.container or _holding(request.container, operation)
        request.vcodec, request.acodec = operation.vcodec, operation.acodec
    elif isinstance(operation, Resize):
        request.size = (operation.width, operation.height)
    elif isinstance(operation, Concat):
        request.segments += [_whole(others, media) for media in operation.media]
    elif isinstance(operation, Thumbnail | Frames):
        request.still = operation
    elif operation.name != "noop":
        raise EditFailed(f"{operation.name} is not a video operation")


def _holding(container: Container, operation: Format) -> Container:
    """The source's container, kept by vcodec or acodec without format, if it holds them."""
    for name, codec in (("vcodec", operation.vcodec), ("acodec", operation.acodec)):
        if codec is not None and refusal(container, codec) is not None:
            holders = [c for c in CONTAINERS if refusal(c, codec) is None]
            raise EditFailed(
                f"{name}={codec} keeps the source's container, {container}, which cannot hold "
                f"{codec}; add format={'|'.join(holders)} to the edit"
            )
    return container


def _whole(others: Mapping[UUID, Source], media: UUID) -> Segment:
    if media not in others:
        raise EditFailed(f"concat: video {media} was not provided")
    return Segment(others[media], 0.0, others[media].duration)


def trimmed(segments: Sequence[Segment], *, start: float, end: float | None) -> list[Segment]:
    """The part of the timeline from `start` to `end` (seconds on the whole timeline)."""
    kept: list[Segment] = []
    offset = 0.0
    for segment in segments:
        low = max(start - offset, 0.0) + segment.start
        high = segment.end if end is None else min(end - offset + segment.start, segment.end)
        if high > low:
            kept.append(Segment(segment.source, low, high))
        offset += segment.duration
    return kept


def _decide(request: _Request, limits: Limits) -> Plan:
    size = output_size(request, limits)
    video_copy = _video_copies(request, size)
    if not video_copy:  # encoders subsample chroma by two: an odd side grows by a pixel
        size = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    return Plan(
        segments=tuple(request.segments),
        container=request.container,
        accurate=request.accurate is not False,
        video=VideoPlan(
            copy=video_copy,
            codec=None if request.container == "gif" else _video_codec(request),
            size=size,
            rate=_constant_rate(request),
        ),
        audio=_audio_plan(request),
        still=request.still,
    )


def output_size(request: _Request, limits: Limits) -> tuple[int, int]:
    width, height = request.segments[0].source.video.display_size
    wanted = request.size
    if wanted is None and request.container == "gif" and max(width, height) > GIF_MAX_SIDE_PIXELS:
        wanted = (GIF_MAX_SIDE_PIXELS, None) if width >= height else (None, GIF_MAX_SIDE_PIXELS)
    if wanted is None:
        return width, height
    result = _scaled((width, height), wanted)
    if max(result) > limits.max_output_side:
        raise EditFailed(
            f"resize would make {result[0]}x{result[1]}; "
            f"sides of at most {limits.max_output_side} pixels are allowed"
        )
    return result


def _scaled(source: tuple[int, int], wanted: tuple[int | None, int | None]) -> tuple[int, int]:
    width, height = wanted
    if width is None:
        width = _even(source[0] * (height or source[1]) / source[1])
    if height is None:
        height = _even(source[1] * width / source[0])
    return width, height


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _video_copies(request: _Request, size: tuple[int, int]) -> bool:
    tracks = {segment.source.video for segment in request.segments}
    first = request.segments[0].source.video
    same = len({(t.codec, t.width, t.height, t.pix_fmt, t.extradata, t.rotation) for t in tracks})
    return (
        request.still is None
        and request.container != "gif"
        and same == 1
        and size == first.display_size
        and request.vcodec in (None, first.codec)
        and first.codec in COPYABLE[request.container]
        and (request.accurate is False or _smart_cuts(request))
    )


def _smart_cuts(request: _Request) -> bool:
    """A cut between keyframes can be made by re-encoding its partial GOPs."""
    video = request.segments[0].source.video
    smart = video.codec in SMART_CUT_CODECS and video.pix_fmt == SMART_CUT_PIX_FMT
    return smart or not any(_cut(segment) for segment in request.segments)


def _cut(segment: Segment) -> bool:
    return segment.start > 0 or segment.end < segment.source.duration - CUT_TOLERANCE_SECONDS


def _video_codec(request: _Request) -> VideoCodec:
    if request.vcodec:
        return request.vcodec
    source = request.segments[0].source.video.codec
    container = request.container
    for codec in ENCODABLE_VIDEO[container]:
        if codec == source and source in COPYABLE[container]:
            return codec
    return DEFAULT_VIDEO[container]


def _constant_rate(request: _Request) -> Fraction | None:
    rate = request.segments[0].source.video.rate
    if request.container == "gif":
        return min(rate, GIF_MAX_RATE)
    if len({segment.source.path for segment in request.segments}) > 1:
        return rate
    return None


def _audio_plan(request: _Request) -> AudioPlan:
    tracks = [segment.source.audio for segment in request.segments]
    present = [track for track in tracks if track is not None]
    if not present or request.still is not None or request.container == "gif":
        return AudioPlan("none")
    source = present[0].codec
    alike = {(t.codec, t.rate, t.layout, t.extradata) for t in present}
    if (
        len(present) == len(tracks)
        and len(alike) == 1
        and request.acodec in (None, source)
        and source in COPYABLE[request.container]
    ):
        return AudioPlan("copy")
    codec = request.acodec or _audio_codec(request.container, source)
    return AudioPlan("encode", codec, OPUS_RATE_HZ if codec == "opus" else present[0].rate)


def _audio_codec(container: Container, source: str) -> AudioCodec:
    for codec in ENCODABLE_AUDIO[container]:
        if codec == source:
            return codec
    return DEFAULT_AUDIO[container]
