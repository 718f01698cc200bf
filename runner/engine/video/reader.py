"""Frames of the planned timeline, upright and at the result's size, for stills and GIF
palettes: the frame shown at a time, or every keyframe (a cheap pass that lands on scene
changes, where encoders put keyframes)."""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Generator, Iterable, Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from av.packet import Packet
from av.stream import Stream
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
    seek_ticks,
)
from runner.engine.video.sink import seconds
from service.kernel.errors import EditFailed

_DEFAULT_TIME_BASE = Fraction(1, 90_000)
MAX_FRAMES_SCANNED = 100_000  # a bound on any decoding loop here, whatever the file says
Timed = tuple[VideoFrame, float | None]  # a frame and its seconds after the stream's origin


@dataclass(frozen=True, slots=True)
class Shot:
    at: float  # seconds on the timeline: of the segments joined, before speed (see length)
    image: VideoFrame  # upright, at the result's size
    source: Path  # the file it comes from
    source_at: float  # seconds after that file's origin


@dataclass(slots=True)
class _Scan:
    """The ticks of the keyframes' packets a scan demuxed, in order, and how far it saw:
    to the end of the stream, or to the ticks of the packet it stopped at (`reached`), any
    keyframe before which it demuxed (a packet demuxed later is shown later)."""

    ticks: list[int | None] = field(default_factory=list)
    ended: bool = False
    reached: int | None = None


@dataclass(slots=True)
class _Keyframes:
    """Where a source's keyframes' packets are, in its ticks, as the keyframe scan demuxed
    them, and the spans of ticks the scan saw all of."""

    ticks: list[int] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)

    def add(self, scan: _Scan) -> None:
        known = [tick for tick in scan.ticks if tick is not None]
        if known and len(known) == len(scan.ticks):  # a keyframe without a time: none trusted
            self.ticks = sorted({*self.ticks, *known})
            seen = max(known) if scan.reached is None else max(*known, scan.reached)
            self.spans.append((min(known), math.inf if scan.ended else seen))

    def none_between(self, earlier: int, later: int) -> bool:
        """Whether the scan saw that no keyframe lies after `earlier` up to `later`: a seek
        for either then lands on the same keyframe."""
        seen = any(start <= earlier and later <= end for start, end in self.spans)
        return seen and bisect_right(self.ticks, earlier) == bisect_right(self.ticks, later)


@dataclass(slots=True)
class _Run:
    """The frames decoded since one seek: the one shown at the last time asked and the next,
    decoded but not yet shown. A later time in the same keyframe's reach is read on from
    here, as a seek for it would decode the same frames again (a video with one keyframe
    in 100,000 frames decoded them all again for each still)."""

    frames: Iterator[Timed]
    sought: int  # the seek's ticks
    asked: float  # seconds: the last time asked
    shown: Timed | None = None
    ahead: Timed | None = None

    def to(self, local: float) -> Timed | None:
        """The frame shown at `local` seconds: the last before the first one later."""
        if self.shown is None and self.ahead is None:
            self.ahead = next(self.frames, None)
        while self.ahead is not None:
            at = self.ahead[1]
            if at is not None and at > local + EPSILON_SECONDS and self.shown is not None:
                break
            self.shown, self.ahead = self.ahead, next(self.frames, None)
        self.asked = local
        return self.shown


class TimelineReader:
    def __init__(self, plan: Plan, *, pix_fmt: str = "rgb24") -> None:
        self._plan, self._pix_fmt = plan, pix_fmt
        self._stack = ExitStack()
        self._open: dict[str, Input] = {}
        self._keyframes: dict[str, _Keyframes] = {}
        self._runs: dict[str, _Run] = {}

    def __enter__(self) -> TimelineReader:
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
            yield from self._keyframes_of(segment, offset=offset)
            offset += segment.duration

    def _keyframes_of(self, segment: Segment, *, offset: float) -> Iterator[Shot]:
        video = self._stream(segment)
        with closing(self._keyframe_packets(segment)) as packets:
            for frame in _decoded_packets(video, packets, source=segment.source):
                at = seconds(video, frame.pts)
                if at is None or at < segment.start - EPSILON_SECONDS:
                    continue
                if at >= segment.end:
                    return
                if not frame.key_frame:
                    continue
                image = self._conform(segment, frame)
                yield Shot(offset + at - segment.start, image, segment.source.path, at)

    def learn_keyframes(self) -> None:
        """Where each segment's keyframes are, from one pass over its packets, none decoded:
        the reads after it (`at`, in time order) seek only past a keyframe and otherwise
        read on from the frame before, so they decode the timeline about once however few
        keyframes it has (a GIF's palette sought each of its samples, decoding a GOP each)."""
        for segment in self._plan.segments:
            until = seek_ticks(self._stream(segment), segment.end)
            with closing(self._keyframe_packets(segment, until=until)) as packets:
                for _ in packets:
                    pass

    def _keyframe_packets(
        self, segment: Segment, *, until: int | None = None
    ) -> Generator[Packet[Stream], None, None]:
        """The keyframes' packets of the segment's source from its start, then the empty
        packet that ends the stream; at most MAX_FRAMES_SCANNED keyframes. The packets
        between are demuxed only. `until` (ticks): the scan stops at the first packet at or
        past it, a keyframe or not: a video of one keyframe is not demuxed to its end for a
        short segment. Each keyframe is noted as it is demuxed, and the source's keyframes
        learn what was noted when the caller stops, wherever that is: the reads after it seek
        only past a keyframe the scan saw (see _run_to)."""
        video, key = self._stream(segment), str(segment.source.path)
        self._runs.pop(key, None)  # the container is sought away from it
        _seek(video, segment.start)
        scan = _Scan()
        demuxed = video.container.demux(video)  # type: ignore[attr-defined]
        packets = (p for p in demuxed if p.is_keyframe or not p.size or _past(p, until))
        try:
            for packet in itertools.islice(packets, MAX_FRAMES_SCANNED + 1):
                if not packet.size:
                    scan.ended = True
                elif _past(packet, until):
                    if packet.is_keyframe:
                        scan.ticks.append(packet.pts)
                    scan.reached = packet.pts
                    return
                else:
                    scan.ticks.append(packet.pts)
                yield packet
        finally:
            self._keyframes.setdefault(key, _Keyframes()).add(scan)

    def _shown(self, segment: Segment, *, offset: float, local: float) -> Shot:
        found = self._run_to(segment, local).to(local)
        if found is None:
            raise EditFailed(f"{segment.source.path.name} has no frame to show at {local:.3f} s")
        frame, at = found
        shown = at or local
        image = self._conform(segment, frame)
        return Shot(offset + shown - segment.start, image, segment.source.path, shown)

    def _run_to(self, segment: Segment, local: float) -> _Run:
        """The decoding that reaches `local` seconds: the one under way when no keyframe the
        scan saw lies between the time it was sought for and `local`, else a new seek."""
        video, key = self._stream(segment), str(segment.source.path)
        target, run = seek_ticks(video, local), self._runs.get(key)
        keyframes = self._keyframes.get(key, _Keyframes())
        if run is None or local < run.asked or not keyframes.none_between(run.sought, target):
            _seek(video, local)
            run = self._runs[key] = _Run(_timed(video, segment.source), sought=target, asked=local)
        return run

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


def _past(packet: Packet[Stream], until: int | None) -> bool:
    """Whether a packet of data is timed at or past `until` ticks (None: no end)."""
    return until is not None and packet.pts is not None and packet.size > 0 and packet.pts >= until


def _decoded(video: VideoStream, source: Source) -> Iterator[VideoFrame]:
    """The frames from where the stream was sought, at most MAX_FRAMES_SCANNED of them, each
    within the source's pixel limit."""
    frames = video.container.decode(video)  # type: ignore[attr-defined]
    for frame in itertools.islice(frames, MAX_FRAMES_SCANNED + 1):
        check_frame(frame, source)
        yield frame


def _timed(video: VideoStream, source: Source) -> Iterator[Timed]:
    """_decoded's frames, each with its time (read before _conform lets it go)."""
    for frame in _decoded(video, source):
        yield frame, seconds(video, frame.pts)


def _decoded_packets(
    video: VideoStream, packets: Iterable[Packet[Stream]], *, source: Source
) -> Iterator[VideoFrame]:
    """The frames of `packets`, each within the source's pixel limit; an empty packet
    flushes the decoder (it may hold a frame back)."""
    for packet in packets:
        for frame in video.codec_context.decode(packet if packet.size else None):
            check_frame(frame, source)
            yield frame
    video.codec_context.flush_buffers()


def _seek(video: VideoStream, at: float) -> None:
    seek_before(video, at)
    video.codec_context.flush_buffers()
