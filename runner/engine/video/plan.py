"""The whole edit decided before a packet is read: which parts of which files make the
result (a timeline of segments), what it is written as, and for each stream whether its
packets are copied or re-encoded. The pipeline then does it all in one pass."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    EXTRACT_CODEC,
    MAX_CRF,
    PRESETS,
    AudioCodec,
    Container,
    VideoCodec,
    encoded_rate,
    refusal,
)
from runner.engine.video.concat import Concat
from runner.engine.video.convert import Format
from runner.engine.video.frames import Frames
from runner.engine.video.geometry import Geometry, Shape
from runner.engine.video.marks import Mark, Overlay, Text
from runner.engine.video.probe import AudioTrack, Source, VideoTrack
from runner.engine.video.quality import Bitrate, Crf, Preset
from runner.engine.video.resize import Resize
from runner.engine.video.sound import Audio, AudioFormat, Mute, Volume
from runner.engine.video.thumbnail import Thumbnail
from runner.engine.video.timing import MAX_RATE_DENOMINATOR, Fps, Speed
from runner.engine.video.trim import Trim
from service.kernel.errors import EditFailed

SMART_CUT_CODECS = frozenset({"h264", "hevc", "vp9"})  # whose partial GOPs we re-encode
SMART_CUT_PIX_FMT = "yuv420p"
CUT_TOLERANCE_SECONDS = 0.001  # an END this close to the source's end cuts nothing
GIF_MAX_SIDE_PIXELS = 480  # unless resize asks otherwise: GIFs are large
GIF_MAX_RATE = Fraction(15)  # frames per second
# fps= asked of a GIF goes no higher: browsers show a delay under 20 ms (2 of the GIF's
# hundredths) as 100 ms, and delays of whole hundredths cannot time more than 100 a second.
GIF_MAX_ASKED_RATE = Fraction(50)  # frames per second
# Frames per second under which a video is frames far apart (a slideshow, a screen recording,
# an imported sound's still picture), not motion: its average says little of when its frames
# come, and sped up it keeps every frame, on a grid up to this rate.
MOTION_RATE = Fraction(15)
MAX_GUESSED_RATE = Fraction(60)  # frames per second: a finer grid shows nothing more on screen
COPIED_SOUND_MIN_SAMPLES = 2048  # two AAC packets: a copy of a shorter part may be one
ONE_FRAME_AND_A_HALF = Fraction(3, 2)  # frames: a source counting fewer holds one at most
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
class Encoding:
    """What crf=, bitrate= and preset= asked of the video encoder (None: its default)."""

    crf: int | None = None
    bit_rate: int | None = None  # bits per second
    preset: str | None = None


@dataclass(frozen=True, slots=True)
class VideoPlan:
    copy: bool  # packets copied (with a smart cut where a segment starts between keyframes)
    codec: VideoCodec | None  # the encoder's, when not copied (None: gif)
    size: tuple[int, int]  # width, height of the result as displayed
    rate: Fraction | None  # constant frame rate to conform to; None keeps the timestamps
    base: Shape = (0, 0)  # the upright picture crop, rotate and flip start from
    filters: tuple[str, ...] = ()  # FFmpeg filters of crop, rotate and flip, in order
    marks: tuple[Mark, ...] = ()  # text and images burned in, on the result's timeline
    encoding: Encoding = Encoding()
    speed: float = 1.0


@dataclass(frozen=True, slots=True)
class AudioPlan:
    mode: Literal["copy", "encode", "none"]
    codec: AudioCodec | None = None  # the encoder's, when encoded
    rate: int = 0  # samples per second of the result, when encoded
    gain: float = 1.0  # times the amplitude
    speed: float = 1.0  # tempo, the pitch kept


@dataclass(frozen=True, slots=True)
class Plan:
    segments: tuple[Segment, ...]
    container: Container
    accurate: bool  # trims cut on the exact frame
    video: VideoPlan
    audio: AudioPlan
    still: Still | None
    speed: float = 1.0
    extract: AudioFormat | None = None  # the result is this audio file, without picture

    @property
    def duration(self) -> float:
        """Seconds of the result."""
        return sum(segment.duration for segment in self.segments) / self.speed


@dataclass
class _Request:
    segments: list[Segment]
    container: Container
    vcodec: VideoCodec | None = None
    acodec: AudioCodec | None = None
    size: tuple[int | None, int | None] | None = None
    accurate: bool | None = None
    still: Still | None = None
    geometry: list[Geometry] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    encoding: Encoding = Encoding()
    speed: float = 1.0
    fps: Fraction | None = None
    mute: bool = False
    gain: float = 1.0
    extract: AudioFormat | None = None

    @property
    def reencode(self) -> bool:
        """Something only a re-encoded video can show."""
        changed = self.speed != 1.0 or self.fps is not None or self.encoding != Encoding()
        return changed or bool(self.geometry or self.marks)


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
        length = sum(segment.duration for segment in request.segments)
        if problem := operation.past_the_end(length):
            raise EditFailed(f"trim {problem}")
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
    elif isinstance(operation, Geometry):
        request.geometry.append(operation)
    elif isinstance(operation, Text | Overlay):
        request.marks.append(operation)
    else:
        _apply_other(request, operation)


def _apply_other(request: _Request, operation: Operation) -> None:
    if isinstance(operation, Crf | Bitrate | Preset):
        request.encoding = _encoding(request.encoding, operation)
    elif isinstance(operation, Speed):
        request.speed = operation.factor
    elif isinstance(operation, Fps):
        request.fps = operation.fraction
    elif isinstance(operation, Mute):
        request.mute = True
    elif isinstance(operation, Volume):
        request.gain = operation.gain
    elif isinstance(operation, Audio):
        request.extract = operation.audio_format
    elif operation.name != "noop":
        raise EditFailed(f"{operation.name} is not a video operation")


def _encoding(encoding: Encoding, operation: Crf | Bitrate | Preset) -> Encoding:
    if isinstance(operation, Preset):
        return replace(encoding, preset=operation.preset)
    if isinstance(operation, Crf) and encoding.bit_rate is None:
        return replace(encoding, crf=operation.crf)
    if isinstance(operation, Bitrate) and encoding.crf is None:
        return replace(encoding, bit_rate=operation.bits_per_second)
    raise EditFailed("crf and bitrate cannot both be given: use one of them")


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
    base = request.segments[0].source.video.display_size
    filters, shape = _geometry(request.geometry, base)
    size = output_size(request, shape, limits)
    video_copy = _video_copies(request, size)
    if not video_copy:  # encoders subsample chroma by two: an odd side grows by a pixel
        size = (size[0] + size[0] % 2, size[1] + size[1] % 2)
    # A resize's side computed from the source's shape, or a source beyond the codecs' levels
    # re-encoded at its own size: refused before a frame is decoded, not by the encoder.
    # Stills are written by Pillow, not a video codec: max_pixels holds them, as it holds images.
    if request.still is not None:
        problem = limits.oversized_still(*size)  # a sentence of its own: the still is the result
    else:
        frames = None if video_copy else limits.oversized_frames(*size)
        problem = frames and f"the result's {frames}"
    if problem:
        raise EditFailed(f"{problem}; resize it smaller")
    if video_copy:
        _check_smart_cuts(request, limits)
    codec = None if request.container == "gif" else _video_codec(request)
    return Plan(
        segments=tuple(request.segments),
        container=request.container,
        accurate=request.accurate is not False,
        video=VideoPlan(
            copy=video_copy, codec=codec, size=size, rate=_constant_rate(request),
            base=base, filters=tuple(filters), marks=tuple(request.marks),
            encoding=_checked_encoding(request.encoding, codec), speed=request.speed,
        ),
        audio=_audio_plan(request),
        still=request.still,
        speed=request.speed,
        extract=request.extract,
    )  # fmt: skip


def _check_smart_cuts(request: _Request, limits: Limits) -> None:
    """A copy cut on the exact frame re-encodes the frames from START to the next keyframe
    (and those before END a copy cannot show) at the source's size: a source beyond the
    codecs' levels is refused before a frame is decoded, not by the encoder."""
    if request.accurate is False or not any(_cut(segment) for segment in request.segments):
        return
    if problem := limits.oversized_frames(*request.segments[0].source.video.display_size):
        raise EditFailed(
            f"trim: a frame-accurate cut re-encodes the frames around it at the source's size, "
            f"and its {problem}; add accurate=false to cut on keyframes, copying every "
            "packet, or resize it smaller"
        )


def _geometry(operations: Sequence[Geometry], shape: Shape) -> tuple[list[str], Shape]:
    filters: list[str] = []
    for operation in operations:
        more, shape = operation.filters(shape)
        filters += more
    return filters, shape


def _checked_encoding(encoding: Encoding, codec: VideoCodec | None) -> Encoding:
    if encoding == Encoding():
        return encoding
    if codec is None:
        raise EditFailed("crf, bitrate and preset apply to video codecs; a GIF has none")
    if encoding.crf is not None and encoding.crf > MAX_CRF[codec]:
        raise EditFailed(
            f"crf={encoding.crf} is beyond {codec}'s scale; accepted: 0 to {MAX_CRF[codec]}"
        )
    if encoding.preset is not None and encoding.preset not in PRESETS[codec]:
        accepted = " | ".join(PRESETS[codec]) or f"no preset: {codec} takes none"
        raise EditFailed(f"preset={encoding.preset} is not a {codec} preset; accepted: {accepted}")
    return encoding


def output_size(request: _Request, shape: Shape, limits: Limits) -> tuple[int, int]:
    width, height = shape
    wanted = request.size
    if wanted is None and request.container == "gif" and max(width, height) > GIF_MAX_SIDE_PIXELS:
        wanted = (GIF_MAX_SIDE_PIXELS, None) if width >= height else (None, GIF_MAX_SIDE_PIXELS)
    if wanted is None:
        return width, height
    result = _scaled((width, height), wanted)
    if problem := limits.oversized(*result):
        raise EditFailed(f"{problem}; ask the resize for a smaller size")
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
        and not request.reencode
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
    """The grid the result's frames are put on; None keeps their timestamps. `fps` is the
    grid asked for. Otherwise a result of motion sped up or slowed down keeps the source's
    rate, as ffmpeg does: frames are dropped or shown again, never a 96 or 6 frames per
    second file. Frames far apart keep their own times, sped or slowed alike, while they come
    no faster than MOTION_RATE (a GIF's GIF_MAX_RATE, the same): a grid of their own rate
    lies on the frames only when the result starts on one of them, and a trim starts it
    anywhere (trim=3,12&speed=2 of a slide every 5 s: slides at 0, 1 and 3.5 s on a grid of
    2.5 s slots, the one on screen at START lost to the next). Past that rate they are put
    on a MOTION_RATE grid (_sped), which keeps every frame a slot of its own. A GIF's `fps`
    is held to GIF_MAX_ASKED_RATE."""
    if request.fps is not None:
        return min(request.fps, GIF_MAX_ASKED_RATE) if request.container == "gif" else request.fps
    several = len({segment.source.path for segment in request.segments}) > 1
    if not several and _on_their_own_times(request):
        return None
    rate = _sped(_sources_rate(request.segments), request.speed)
    return min(rate, GIF_MAX_RATE) if request.container == "gif" else rate


def _on_their_own_times(request: _Request) -> bool:
    """One source's frames can be shown at their times, the speed's: their rate is kept
    (unchanged, or frames far apart) and is no faster than the result may be (a GIF shows
    at most GIF_MAX_RATE frames a second; a speed raises frames far apart to MOTION_RATE)."""
    rate = _timed_rate(request.segments[0].source.video)
    if request.speed != 1.0 and rate >= MOTION_RATE:
        return False  # motion: dropped or shown again on its own rate's grid
    if request.container == "gif":
        return rate * Fraction(request.speed) <= GIF_MAX_RATE
    return request.speed == 1.0 or rate * Fraction(request.speed) <= MOTION_RATE


def _sources_rate(segments: Sequence[Segment]) -> Fraction:
    """The first source's rate; concatenated after frames far apart (a slideshow, an imported
    sound's still picture), the fastest source's, which the slideshow's slots would drop. A
    source of one frame has no rate to keep (a live WebM's lasts 1 ms: "1000 a second"),
    unless every source is one: then the first's."""
    timed = [s.source for s in segments if not _one_frame(s.source)] or [segments[0].source]
    first = _timed_rate(timed[0].video)
    if first >= MOTION_RATE:
        return first
    return max(_timed_rate(source.video) for source in timed)


def _one_frame(source: Source) -> bool:
    return source.video.rate * Fraction(source.duration) < ONE_FRAME_AND_A_HALF


def _timed_rate(video: VideoTrack) -> Fraction:
    """The rate a video's frames are timed at: its average, unless that is under MOTION_RATE:
    frames far apart are timed on a finer grid than their average (frames at 0, 40 and 80 ms,
    then 3 s later: 1.3 a second on average, on a 25 fps grid), which FFmpeg guesses from
    their timestamps (at most MAX_GUESSED_RATE)."""
    if video.rate >= MOTION_RATE or video.guessed_rate is None:
        return video.rate
    return max(video.rate, min(video.guessed_rate, MAX_GUESSED_RATE))


def _sped(rate: Fraction, speed: float) -> Fraction:
    """A rate under MOTION_RATE sped up rises with its frames, up to MOTION_RATE: one slide
    every 5 s at speed=2, joined to another, is a frame every 2.5 s, not every other slide
    dropped (alone, its frames keep their times: _on_their_own_times)."""
    if speed <= 1.0 or rate >= MOTION_RATE:
        return rate
    return min(rate * Fraction(speed), MOTION_RATE).limit_denominator(MAX_RATE_DENOMINATOR)


def _audio_plan(request: _Request) -> AudioPlan:
    tracks = [segment.source.audio for segment in request.segments]
    present = [track for track in tracks if track is not None]
    if not present or request.mute or request.still is not None or request.container == "gif":
        return AudioPlan("none")
    if request.extract is not None:
        return _extracted(request, present[0])
    source = present[0].codec
    alike = {(t.codec, t.rate, t.layout, t.extradata) for t in present}
    if (
        len(present) == len(tracks)
        and len(alike) == 1
        and request.acodec in (None, source)
        and source in COPYABLE[request.container]
        and request.speed == 1.0
        and request.gain == 1.0
        and _copies_heard(request.segments, present[0])
    ):
        return AudioPlan("copy")
    codec = request.acodec or _audio_codec(request.container, source)
    return _encoded(request, codec, present[0].rate)


def _encoded(request: _Request, codec: AudioCodec, rate: int) -> AudioPlan:
    rate = encoded_rate(codec, rate)
    return AudioPlan("encode", codec, rate, gain=request.gain, speed=request.speed)


def _extracted(request: _Request, track: AudioTrack) -> AudioPlan:
    """The sound alone: copied when one source's codec is the format's and nothing changes
    it, else encoded with the format's codec."""
    assert request.extract is not None
    codec = EXTRACT_CODEC[request.extract]
    sources = {segment.source.path for segment in request.segments}
    unchanged = request.speed == 1.0 and request.gain == 1.0 and len(sources) == 1
    if unchanged and track.codec == codec and _copies_heard(request.segments, track):
        return AudioPlan("copy")
    return _encoded(request, codec, track.rate)


def _copies_heard(segments: Sequence[Segment], track: AudioTrack) -> bool:
    """Whether copied packets of these parts are heard. A copy keeps whole packets, the part
    of the first before START left out by the container (an MP4's edit list): a part within
    one packet (`trim=1,1.001`) is that packet alone, which FFmpeg reads as no sound at all.
    Such a part's sound is encoded."""
    return all(segment.duration * track.rate >= COPIED_SOUND_MIN_SAMPLES for segment in segments)


def _audio_codec(container: Container, source: str) -> AudioCodec:
    for codec in ENCODABLE_AUDIO[container]:
        if codec == source:
            return codec
    return DEFAULT_AUDIO[container]
