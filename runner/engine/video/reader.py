"""Frames of the planned timeline, upright and at the result's size, for stills and GIF
palettes: the frame shown at a time, or every keyframe (a cheap pass that lands on scene
changes, where encoders put keyframes)."""

import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.conform import Conformer, chain, same_shape
from runner.engine.video.plan import Plan, Segment
from runner.engine.video.probe import (
    EPSILON_SECONDS,
    Input,
    Source,
    check_frame,
    open_streams,
    reading,
    seek_before,
)
from runner.engine.video.sink import seconds
from service.kernel.errors import EditFailed

_DEFAULT_TIME_BASE = Fraction(1, 90_000)
MAX_FRAMES_SCANNED = 100_000  # a bound on any decoding loop here, whatever the file says


@dataclass(frozen=True, slots=True)
class Shot:
    at: float  # seconds on the timeline: of the segments joined, before speed (see length)
    image: VideoFrame  # upright, at the result's size
    source: Path  # the file it comes from
    source_at: float  # seconds after that file's origin


class TimelineReader:
    def __init__(self, plan: Plan, *, pix_fmt: str = "rgb24") -> None:
        self._plan, self._pix_fmt = plan, pix_fmt
        self._stack = ExitStack()
        self._open: dict[str, Input] = {}

    def __enter__(self) -> "TimelineReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    @property
    def length(self) -> float:
        """Seconds of the timeline, as a Shot's `at` counts them: the segments joined, before
        speed (the result's duration times its speed)."""
        return sum(segment.duration for segment in self._plan.segments)

    def at(self, at: float) -> Shot:
        """The frame shown at `at` seconds of the result (the last one when `at` is past
        the end of a segment's frames)."""
        return self.on_timeline(at * self._plan.speed)

    def on_timeline(self, at: float) -> Shot:
        """The frame shown at `at` seconds of the joined segments, as a Shot's `at` counts:
        a Shot read before, read again."""
        offset = 0.0
        for segment in self._plan.segments:
            if at < offset + segment.duration or segment is self._plan.segments[-1]:
                return self._shown(
                    segment, offset=offset, local=segment.start + max(0.0, at - offset)
                )
            offset += segment.duration
        raise EditFailed("the timeline is empty")

    def keyframes(self) -> Iterator[Shot]:
        """Only the keyframes' packets are decoded: asked to skip the other frames, a decoder
        may not (FFmpeg's VP9 decoder ignores skip_frame and decoded every frame of the
        video), and a keyframe needs no other to be decoded."""
        offset = 0.0
        for segment in self._plan.segments:
            video = self._stream(segment)
            yield from self._keyframes_of(segment, offset=offset, video=video)
            offset += segment.duration

    def _keyframes_of(
        self, segment: Segment, *, offset: float, video: VideoStream
    ) -> Iterator[Shot]:
        _seek(video, segment.start)
        for frame in _decoded_keyframes(video, segment.source):
            at = seconds(video, frame.pts)
            if at is None or at < segment.start - EPSILON_SECONDS:
                continue
            if at >= segment.end:
                return
            if not frame.key_frame:
                continue
            image = self._conform(segment, frame)
            yield Shot(offset + at - segment.start, image, segment.source.path, at)

    def _shown(self, segment: Segment, *, offset: float, local: float) -> Shot:
        video = self._stream(segment)
        _seek(video, local)
        best: VideoFrame | None = None
        for frame in _decoded(video, segment.source):
            at = seconds(video, frame.pts)
            if at is not None and at > local + EPSILON_SECONDS and best is not None:
                break
            best = frame
        if best is None:
            raise EditFailed(f"{segment.source.path.name} has no frame to show at {local:.3f} s")
        shown = seconds(video, best.pts) or local
        image = self._conform(segment, best)
        return Shot(offset + shown - segment.start, image, segment.source.path, shown)

    def _stream(self, segment: Segment) -> VideoStream:
        key = str(segment.source.path)
        if key not in self._open:
            self._open[key] = self._stack.enter_context(reading(segment.source.path))
        video, _ = open_streams(self._open[key])
        return video

    def _conform(self, segment: Segment, frame: VideoFrame) -> VideoFrame:
        video = segment.source.video
        first = self._plan.segments[0].source.video.display_size
        filters = chain(
            rotation=video.rotation, size=self._plan.video.size,
            letterbox=not same_shape(video.display_size, first), pix_fmt=self._pix_fmt,
            base=self._plan.video.base, geometry=self._plan.video.filters,
        )  # fmt: skip
        frame.pts = None
        conformer = Conformer(filters, time_base=frame.time_base or _DEFAULT_TIME_BASE)
        (image,) = conformer.push(frame)
        return image


def _decoded(video: VideoStream, source: Source) -> Iterator[VideoFrame]:
    """The frames from where the stream was sought, at most MAX_FRAMES_SCANNED of them, each
    within the source's pixel limit."""
    frames = video.container.decode(video)  # type: ignore[attr-defined]
    for frame in itertools.islice(frames, MAX_FRAMES_SCANNED + 1):
        check_frame(frame, source)
        yield frame


def _decoded_keyframes(video: VideoStream, source: Source) -> Iterator[VideoFrame]:
    """The frames of the keyframes' packets from where the stream was sought, each within the
    source's pixel limit; the decoder is flushed at the end (it may hold a frame back)."""
    container = video.container
    packets = (p for p in container.demux(video) if p.is_keyframe or p.size == 0)  # type: ignore[attr-defined]
    for packet in itertools.islice(packets, MAX_FRAMES_SCANNED + 1):
        for frame in video.codec_context.decode(packet if packet.size else None):
            check_frame(frame, source)
            yield frame
    video.codec_context.flush_buffers()


def _seek(video: VideoStream, at: float) -> None:
    seek_before(video, at)
    video.codec_context.flush_buffers()
