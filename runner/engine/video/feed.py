"""Feeding the planned segments, one file after the other, to the sinks of the result's
streams: seek once to where a segment starts, demux, stop when the sinks have enough. One
pass over each file, whatever is copied and whatever is re-encoded."""

from __future__ import annotations

from contextlib import ExitStack
from typing import NamedTuple

from av.packet import Packet
from av.stream import Stream
from av.video.stream import VideoStream

from runner.engine.ops.base import Progress
from runner.engine.video.audio import AudioTranscode
from runner.engine.video.plan import Plan, Segment
from runner.engine.video.probe import EPSILON_SECONDS, Input, open_streams, reading, seek_before
from runner.engine.video.sink import Sink, seconds
from service.kernel.errors import EditFailed

PROGRESS_EVERY_PACKETS = 32
TRUNCATED_SECONDS = 0.5  # a source ending this much before its header said is truncated


class Feeder:
    def __init__(
        self, plan: Plan, *, video: Sink | None, audio: Sink | None, progress: Progress
    ) -> None:
        self._plan, self._video, self._audio = plan, video, audio
        self._progress = progress
        self._read_to = 0.0  # seconds after the source's origin: where its data read ended
        self._read_to_stream = -1  # the index of the stream whose data ends there
        self._longest_packet_seconds: dict[int, float] = {}  # by stream index

    def feed(self, *, keyframe_start: bool) -> None:
        """`keyframe_start`: a segment starting between keyframes starts on the one before."""
        offset = 0.0
        for segment in self._plan.segments:
            with ExitStack() as files:
                container = files.enter_context(reading(segment.source.path))
                start = segment.start
                if keyframe_start and segment.start > 0:
                    start = _start(container, segment)
                    if start <= 0:  # fed from the file's start, where nothing is sought, and
                        # the look for that keyframe has read on past it: a fresh container
                        container = files.enter_context(reading(segment.source.path))
                self._feed_one(container, segment, start=start, offset=offset)
            offset += (segment.end - start) / self._plan.speed
            self._report(offset)

    def _feed_one(self, container: Input, segment: Segment, *, start: float, offset: float) -> None:
        routes = self._begin(container, segment, start=start, offset=offset)
        _seek(open_streams(container)[0], start=start)
        complete = self._demux(container, dict((stream.index, sink) for stream, sink in routes))
        for _, sink in routes:
            sink.end()
        end = offset + (segment.end - start) / self._plan.speed
        if isinstance(self._audio, AudioTranscode):  # a source without sound, or too little
            self._audio.silence_until(end)
        if not complete:
            self._check_whole(segment, expected=end, began=offset)

    def _begin(
        self, container: Input, segment: Segment, *, start: float, offset: float
    ) -> list[tuple[Stream, Sink]]:
        video_stream, audio_stream = open_streams(container)
        routes: list[tuple[Stream, Sink]] = []
        if self._video is not None:
            routes.append((video_stream, self._video))
        if self._audio is not None and audio_stream is not None:
            routes.append((audio_stream, self._audio))
        for stream, sink in routes:
            sink.begin(stream, segment, start=start, offset=offset)
        return routes

    def _demux(self, container: Input, routes: dict[int, Sink]) -> bool:
        """True when every sink had what it needed before the file ended. The sound is read
        when the result has none too: where the source's data ends is where its last stream
        ends (a picture may end before its sound, its last frame on screen until then)."""
        streams = [stream for stream in open_streams(container) if stream is not None]
        self._read_to, self._read_to_stream, self._longest_packet_seconds = 0.0, -1, {}
        for count, packet in enumerate(container.demux(streams)):
            if packet.size:  # empty ones mark the end
                # timed before a copy moves the packet onto the result's timeline
                self._note_read(Timing.of(packet))
                if (sink := routes.get(packet.stream.index)) is not None:
                    sink.push(packet)
            if all(sink.done for sink in routes.values()):
                return True
            if count % PROGRESS_EVERY_PACKETS == 0:
                self._report(self._position())
        return False

    def _note_read(self, timing: Timing) -> None:
        """The latest end over every stream read, not the last packet's in file order (its
        stream's data may end before another's)."""
        index = timing.stream.index
        longest = self._longest_packet_seconds
        longest[index] = max(longest.get(index, 0.0), timing.seconds())
        if (ends := timing.ends()) > self._read_to:
            self._read_to, self._read_to_stream = ends, index

    def _position(self) -> float:
        return max(sink.position for sink in (self._video, self._audio) if sink is not None)

    def _report(self, done_seconds: float) -> None:
        duration = self._plan.duration
        self._progress(min(1.0, max(0.0, done_seconds / duration)) if duration > 0 else 1.0)

    def _check_whole(self, segment: Segment, *, expected: float, began: float) -> None:
        """`began`, `expected`: where the segment starts and should end on the result. A
        source whose data reaches the segment's end is whole, whatever the segment shows (a
        slideshow's part between two frames starts none: the frame before it is shown). The
        container's length may count a codec's delay its packets' times do not, up to one
        packet (a Matroska of 3.021 s whose AAC ends at 3.008 s; a WebM of 3.008 s whose Opus
        ends at 3.001 s, its last packet cut to 7 ms): within a whole packet of it, it does."""
        packet = self._longest_packet_seconds.get(self._read_to_stream, 0.0)
        tolerance = max(EPSILON_SECONDS, packet)
        if self._read_to >= segment.end - tolerance:
            return
        reached = self._position()
        if reached <= began + EPSILON_SECONDS:  # however short the segment, not one frame of it
            raise EditFailed(
                f"{segment.source.path.name} has no data from {segment.start:.2f} s to "
                f"{segment.end:.2f} s: the file is truncated or damaged"
            )
        frame_seconds = float(1 / segment.source.video.rate)
        if reached < expected - TRUNCATED_SECONDS - 2 * frame_seconds:
            raise EditFailed(
                f"{segment.source.path.name} ends {expected - reached:.2f} s before the "
                f"{segment.duration:.2f} s asked for: the file is truncated or damaged"
            )


class Timing(NamedTuple):
    """A packet's times as its source gives them: a copy moves the packet itself onto the
    result's timeline as it muxes it (where a source's data ends is the source's)."""

    stream: Stream
    pts: int | None
    duration: int | None

    @classmethod
    def of(cls, packet: Packet[Stream]) -> Timing:
        pts = packet.dts if packet.pts is None else packet.pts  # as the copies read it
        return cls(packet.stream, pts, packet.duration)

    def ends(self) -> float:
        """Seconds after its stream's origin where the packet stops being shown (0 without
        a time)."""
        at = seconds(self.stream, self.pts)
        if at is None or self.stream.time_base is None:
            return 0.0
        return at + self.seconds()

    def seconds(self) -> float:
        """How long the packet lasts (0 without a duration)."""
        if self.stream.time_base is None:
            return 0.0
        return float((self.duration or 0) * self.stream.time_base)


def _start(container: Input, segment: Segment) -> float:
    """Where a segment starting on a keyframe really starts: the last keyframe at or before
    its start (a seek may land on an earlier one: the packets up to the next keyframe are
    looked at)."""
    video, _ = open_streams(container)
    _seek(video, start=segment.start)
    last: float | None = None
    for packet in container.demux(video):
        at = seconds(video, packet.pts)
        if at is not None and at >= segment.end:
            break  # no keyframe after the start within the segment: the last one seen
        if packet.is_keyframe and at is not None:
            if at > segment.start + EPSILON_SECONDS:
                break
            last = at
    return segment.start if last is None else min(last, segment.start)


def _seek(video: VideoStream, *, start: float) -> None:
    """A fresh container reads from its start: seeking there could skip a first GOP whose
    timestamps begin below zero."""
    if start > 0 and video.time_base is not None:
        seek_before(video, start)
