"""Writing a result: to a temporary file beside it, renamed when complete, MP4 and MOV with
their index first (faststart) so they play while downloading. The muxer also keeps each
stream's decode timestamps strictly increasing, which joined pieces need."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

import av
import av.container
from av.packet import Packet
from av.stream import Stream

from runner.engine.video.codecs import FASTSTART, MUXER
from runner.engine.video.probe import failed_making
from service.kernel.errors import EditFailed

Output = av.container.OutputContainer


@contextmanager
def writing(path: Path, container: str, *, muxer: str | None = None) -> Iterator[Output]:
    """`container`: one of codecs.CONTAINERS, or an audio format with its `muxer`."""
    partial = path.with_name(f".{path.name}.partial")
    options = {"movflags": "+faststart"} if container in FASTSTART | {"m4a"} else {}
    name = muxer or MUXER[container]  # type: ignore[index]
    try:
        with av.open(str(partial), mode="w", format=name, options=options) as output:
            yield output
        if not partial.exists():  # the file is begun with its first packet: none came
            raise EditFailed(
                f"the {container} result would be empty: no frame or sound of the source could "
                "be placed in it (its packets lack timestamps, or the file is damaged)"
            )
        partial.replace(path)
    except av.error.FFmpegError as exc:
        _unwritable(container, exc)
    finally:
        partial.unlink(missing_ok=True)


def _unwritable(container: str, error: av.error.FFmpegError) -> NoReturn:
    """An error writing the result is the result's, never the source's (muxing happens while
    a source is open for reading); a full disk is not the edit's fault: it passes, retried."""
    failed_making(error, f"the {container} result could not be written")


class Muxer:
    """Muxes packets into one output stream, their timestamps counted in `time_base`."""

    def __init__(self, output: Output, stream: Stream, *, time_base: Fraction) -> None:
        self._output = output
        self.stream = stream
        self.time_base = time_base
        self._seconds_per_tick = float(time_base)  # per packet, a Fraction costs microseconds
        self._last_dts: int | None = None
        self._until: int | None = None  # ticks: where no packet is shown past (see `show_until`)
        self._last: Packet[Stream] | None = None  # held until the next: see `show_until`
        self._top: int | None = None  # the highest pts muxed, in ticks
        self.end = 0.0  # seconds: where the last packet muxed ends
        self.packets = 0  # muxed so far: a stream the edit planned may get none (see pipeline)

    def show_until(self, seconds: float) -> None:
        """No packet muxed from now on is shown past `seconds` (a trim's END on the result):
        the last frame of a slideshow lasts 5 s, and would run on past the END asked. The
        last packet waits for the next, or for `close`, which sets how long it lasts."""
        self._until = round(seconds / self.time_base)

    def mux(self, packet: Packet[Stream]) -> None:
        if packet.dts is None or packet.pts is None:
            return  # nothing a muxer can place; decoders skip them as well
        _rebase(packet, self.time_base)
        assert packet.pts is not None
        assert packet.dts is not None
        if self._last_dts is not None and packet.dts <= self._last_dts:
            packet.dts = self._last_dts + 1
            packet.pts = max(packet.pts, packet.dts)
        self._last_dts = packet.dts
        if self._until is None:
            self._write(packet)
            return
        if packet.duration and packet.pts + packet.duration > self._until:
            packet.duration = max(1, self._until - packet.pts)
        last, self._last = self._last, packet
        self._top = packet.pts if self._top is None else max(self._top, packet.pts)
        if last is not None:
            self._write(last)

    def close(self) -> None:
        """No more packets: the last is written, lasting until the end `show_until` said when
        it has no duration (libvpx gives none, and a reader would take a frame's length
        from the rate: 5 s of a slideshow) or when it is the last shown: a frame is on
        screen until the next, whatever length its container gave it, and the source's next
        comes at or after that end, or never (a picture ending before its sound: players
        hold the last frame while the sound plays)."""
        last, self._last = self._last, None
        if last is None:
            return
        assert last.pts is not None
        lengthened = not last.duration or last.pts == self._top
        if lengthened and self._until is not None:
            # A frame within a tick before the end (a GIF's hundredth) rounds onto it: one
            # tick, not the rate's length a muxer would give a packet without one.
            last.duration = max(1, self._until - last.pts)
        self._write(last)

    def _write(self, packet: Packet[Stream]) -> None:
        assert packet.pts is not None
        self.end = max(self.end, (packet.pts + (packet.duration or 0)) * self._seconds_per_tick)
        packet.stream = self.stream
        self.packets += 1
        try:
            self._output.mux_one(packet)
        except av.error.FFmpegError as exc:
            _unwritable(self._output.format.name, exc)


def _rebase(packet: Packet[Stream], time_base: Fraction) -> None:
    old = packet.time_base
    if old is None or old == time_base:
        packet.time_base = time_base
        return
    scale = old / time_base
    packet.pts = round(packet.pts * scale) if packet.pts is not None else None
    packet.dts = round(packet.dts * scale) if packet.dts is not None else None
    packet.duration = round(packet.duration * scale) if packet.duration else packet.duration
    packet.time_base = time_base
