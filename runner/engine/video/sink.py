"""What takes one stream's packets, segment after segment, and puts the result's packets
into the output: a copier or a transcoder, for video or audio. The pipeline feeds them."""

from __future__ import annotations

from typing import Protocol

from av.packet import Packet
from av.stream import Stream
from av.video.frame import VideoFrame

from runner.engine.video.output import Muxer
from runner.engine.video.plan import Segment
from runner.engine.video.probe import origin_ticks
from service.kernel.errors import EditFailed, reason

MAX_DAMAGED_PACKETS = 25  # per stream and segment: past this a file is refused, not played
GAP_SECONDS = 0.1  # a segment's first frame later than this after its start leaves a gap seen


class Sink(Protocol):
    muxer: Muxer  # where its packets go (which counts them)
    done: bool  # wants no more packets of this segment
    position: float  # seconds of the result made so far

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        """A new segment: `start` (seconds after the source's origin) is where it really
        begins, `offset` where on the result's timeline it goes."""

    def push(self, packet: Packet[Stream]) -> None: ...

    def end(self) -> None:
        """The segment's packets are all pushed (or the sink said done)."""

    def finish(self) -> None:
        """No more segments: flush encoders."""


class Damage:
    """Packets a decoder refuses are skipped, as players do, up to a bound."""

    def __init__(self) -> None:
        self.count = 0

    def skip(self, source: str, error: Exception) -> None:
        self.count += 1
        if self.count > MAX_DAMAGED_PACKETS:
            raise EditFailed(f"{source} has too many damaged packets to decode: {reason(error)}")


def end_from(*, start: float, end: float, tolerance: float) -> float:
    """Where a segment's END is reached (seconds or ticks, as given): `tolerance` before it,
    a time rounded to a time base being the same instant, but never within `tolerance` of
    START: however short a segment (a one-frame video lasts a millisecond, its time base's
    tick), the frame at its start is in it."""
    return max(end - tolerance, start + tolerance)


def on_at_start(ends: float, *, start: float, end: float, tolerance: float) -> bool:
    """Whether a frame or sound before a segment's START, ending at `ends` (seconds or
    ticks, as given), is still on at START: it ends more than `tolerance` after it (an end
    within it is START, rounded), but never more than half the segment (nearer END than
    START, it is on for most of it: a frame ending at END of a 1 ms segment fills it)."""
    return ends > start + min(tolerance, (end - start) / 2)


def seconds(stream: Stream, ticks: int | None) -> float | None:
    """Ticks of a stream as seconds after its origin (None stays None)."""
    if ticks is None or stream.time_base is None:
        return None
    return float((ticks - origin_ticks(stream)) * stream.time_base)


class Opening:
    """The frame on screen at a segment's start, when none starts there. Frames far apart (a
    slideshow, a screen recording that makes a frame only when the screen changes) leave the
    one before the start on screen seconds into the segment; a part between two of them is
    that frame alone. A regular-rate video's first frame comes under GAP_SECONDS after the
    start: the frame before it is left out, as FFmpeg's trim leaves it. A result sped up or
    slowed down has no trim of FFmpeg's to match, its frames moved anyway: `gap_seconds` is
    then a time base's rounding, and the frame on screen at START is shown from the start
    whenever none starts there (a grid then keeps the later of two frames for one slot)."""

    def __init__(self, *, gap_seconds: float = GAP_SECONDS) -> None:
        self._gap_seconds = gap_seconds
        self._frame: VideoFrame | None = None

    def before(self, frame: VideoFrame) -> None:
        """A frame shown before the start."""
        self._frame = frame

    def shown(self, *, next_after: float | None) -> VideoFrame | None:
        """The frame to show from the start, if any, once the segment's first frame comes
        `next_after` seconds after the start on the result (a speed scales the source's
        gap). None or math.inf: the stream ended without one, or the next frame comes at or
        after END; either way the one before is on screen throughout, however short the
        segment or long ago that frame began (the last of a picture ending before its sound
        is held, as players hold it, whatever duration its packet says). Asked once: a
        frame is given at most once."""
        frame, self._frame = self._frame, None
        if frame is None or next_after is None:
            return frame
        return frame if next_after > self._gap_seconds else None
