"""What takes one stream's packets, segment after segment, and puts the result's packets
into the output: a copier or a transcoder, for video or audio. The pipeline feeds them."""

from __future__ import annotations

from typing import Protocol

from av.packet import Packet
from av.stream import Stream

from runner.engine.video.plan import Segment
from runner.engine.video.probe import origin_ticks
from service.kernel.errors import EditFailed, reason

MAX_DAMAGED_PACKETS = 25  # per stream and segment: past this a file is refused, not played


class Sink(Protocol):
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


def seconds(stream: Stream, ticks: int | None) -> float | None:
    """Ticks of a stream as seconds after its origin (None stays None)."""
    if ticks is None or stream.time_base is None:
        return None
    return float((ticks - origin_ticks(stream)) * stream.time_base)
