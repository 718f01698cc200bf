"""Video packets copied, not re-encoded. With `accurate`, a cut between keyframes is a smart
cut: the frames from START to the next keyframe are decoded and re-encoded in the source's
codec (the head), everything from that keyframe on is copied, and the few frames before END
that a copied prefix cannot show (B-frames whose references lie past END) are re-encoded
too (the tail). Without `accurate` the result starts on the keyframe at or before START."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import av
from av.packet import Packet
from av.stream import Stream
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.encoders import PIX_FMT, splicer
from runner.engine.video.nal import disposable, in_band, to_stored_form
from runner.engine.video.output import Muxer
from runner.engine.video.plan import Segment
from runner.engine.video.sink import EPSILON_SECONDS, Damage

LOOKAHEAD_PACKETS = 32  # past END, to find frames shown before END but decoded after it
Phase = Literal["head", "copy", "tail", "over"]


@dataclass(frozen=True, slots=True)
class Held:
    """A packet's bytes and timestamps, to decode again after the original was muxed."""

    data: bytes
    pts: int
    dts: int
    keyframe: bool

    @classmethod
    def of(cls, packet: Packet[Stream]) -> Held:
        assert packet.pts is not None
        assert packet.dts is not None
        return cls(bytes(packet), packet.pts, packet.dts, packet.is_keyframe)


def rebuilt(
    data: bytes, *, pts: int, dts: int, keyframe: bool, time_base: Fraction, duration: int = 0
) -> Packet[Stream]:
    """A packet of these bytes; `duration` (ticks) matters to the last one: Matroska's
    length is the last packet's pts plus its duration (without it a cut is a frame short)."""
    packet = Packet(data)
    packet.pts, packet.dts, packet.time_base = pts, dts, time_base
    packet.duration = duration
    packet.is_keyframe = keyframe
    return packet


class VideoCopy:
    def __init__(self, muxer: Muxer, *, accurate: bool) -> None:
        self._muxer, self._accurate = muxer, accurate
        self.done, self.position = False, 0.0

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        assert isinstance(stream, VideoStream)
        assert stream.time_base is not None
        self._stream, self._tb, self._offset = stream, stream.time_base, offset
        origin = stream.start_time or 0
        self._start = origin + round(start / self._tb)
        self._end = origin + round(segment.end / self._tb)
        self._eps = max(1, round(EPSILON_SECONDS / self._tb))
        self._shift = round(offset / self._tb) - self._start
        self._phase: Phase = "head" if self._accurate else "copy"
        self._head: Piece | None = None
        self._spliced = False
        self._gop: list[Held] = []
        self._lookahead: list[Held] = []
        self._floor: int | None = None  # pts of the first copied keyframe
        self._top: int | None = None  # the highest pts copied
        self._last_dts: int | None = None
        self._frame_ticks = max(1, round(1 / (stream.average_rate or 25) / self._tb))
        self._damage, self._name = Damage(), segment.source.path.name
        self.done = False

    def push(self, packet: Packet[Stream]) -> None:
        if packet.pts is None:
            packet.pts = packet.dts
        if self.done or packet.pts is None:
            return
        if packet.dts is None:
            packet.dts = self._guess_dts(packet.pts)
        self._last_dts = packet.dts
        if self._phase == "head":
            if not (packet.is_keyframe and packet.pts >= self._start - self._eps):
                self._decode_head(packet)
                return
            self._finish_head(packet)
        if self._phase == "copy":
            self._copy(packet)
        elif self._phase == "tail":
            self._look(packet)

    def _guess_dts(self, pts: int) -> int:
        """Matroska may leave the first packets' dts out: count back from the reorder
        depth, as FFmpeg does, keeping dts increasing and never after pts."""
        if self._last_dts is None:
            return pts - int(self._stream.codec_context.has_b_frames) * self._frame_ticks
        return min(pts, self._last_dts + self._frame_ticks)

    def end(self) -> None:
        if self._phase == "head":
            self._finish_head(None)
        elif self._phase == "tail":
            self._resolve_tail()
        self.done = True

    def finish(self) -> None:
        """Every piece is flushed at the end of its segment."""

    # The head: START to the next keyframe, re-encoded.

    def _decode_head(self, packet: Packet[Stream]) -> None:
        if (
            packet.pts is not None
            and packet.pts < self._start - self._eps
            and self._skippable(bytes(packet))
        ):
            return  # shown before the cut and no reference for anything: not decoded
        for frame in self._decode(packet):
            if frame.pts is not None and frame.pts >= self._end - self._eps:
                self._finish_head(None)
                return
            if frame.pts is not None and frame.pts >= self._start - self._eps:
                self._head_frame(frame)

    def _finish_head(self, keyframe: Packet[Stream] | None) -> None:
        for frame in self._decode(None):
            if frame.pts is not None and self._start - self._eps <= frame.pts < self._end:
                self._head_frame(frame)
        self._stream.codec_context.flush_buffers()
        delay = 0 if keyframe is None else (keyframe.pts or 0) - (keyframe.dts or 0)
        if self._head is not None:
            self._mux_piece(self._head.close(), delay=delay)
            self._spliced = True
        self._phase = "copy"
        self.done = keyframe is None

    def _head_frame(self, frame: VideoFrame) -> None:
        """Head frames are encoded as they come (a GOP of decoded 1080p frames is large);
        their packets wait for the keyframe that says how far to shift their dts."""
        if self._head is None:
            self._head = Piece(self._stream)
        self._head.add(frame)

    # The copy: keyframe to END.

    def _copy(self, packet: Packet[Stream]) -> None:
        assert packet.pts is not None
        held = Held.of(packet) if self._accurate else None
        if packet.is_keyframe:
            self._gop = []
        if packet.pts >= self._end - self._eps:
            self._end_copy(held)
            return
        if self._floor is None and packet.is_keyframe:
            self._floor = packet.pts
        if self._floor is None or packet.pts < self._floor:
            return  # before the first keyframe, or an open GOP's leading pictures
        if held is not None:
            self._gop.append(held)
        self._top = max(self._top or packet.pts, packet.pts)
        self._mux_copied(packet, first=self._floor == packet.pts and self._spliced)

    def _mux_copied(self, packet: Packet[Stream], *, first: bool) -> None:
        pts, dts = packet.pts, packet.dts
        assert pts is not None
        assert dts is not None
        if first:  # after a spliced head the decoder needs the source's parameter sets again
            data = in_band(
                self._stream.codec_context.codec.canonical_name, self._extradata, bytes(packet)
            )
            packet = rebuilt(
                data, pts=pts, dts=dts, keyframe=True, time_base=self._tb,
                duration=packet.duration or self._frame_ticks,
            )  # fmt: skip
        packet.pts, packet.dts = pts + self._shift, dts + self._shift
        self.position = float((pts + self._shift) * self._tb)
        self._muxer.mux(packet)

    def _end_copy(self, held: Held | None) -> None:
        if held is None:
            self.done = True
            return
        self._phase, self._lookahead = "tail", [held]
        if held.keyframe:
            self._resolve_tail()

    # The tail: frames shown before END that a copied prefix lacks.

    def _look(self, packet: Packet[Stream]) -> None:
        if packet.is_keyframe or len(self._lookahead) >= LOOKAHEAD_PACKETS:
            self._resolve_tail()
            return
        self._lookahead.append(Held.of(packet))

    def _resolve_tail(self) -> None:
        self.done, self._phase = True, "over"
        ceiling = self._start - 1 if self._top is None else self._top
        if not any(ceiling < held.pts < self._end - self._eps for held in self._lookahead):
            return
        frames: list[VideoFrame] = []
        for held in [*self._gop, *self._needed_lookahead(), None]:
            if held is not None and held.pts <= ceiling and self._skippable(held.data):
                continue  # copied already, and no reference for the frames wanted
            frames += self._decode(None if held is None else self._packet(held))
        self._stream.codec_context.flush_buffers()
        missing = [f for f in frames if f.pts is not None and ceiling < f.pts < self._end]
        self._splice(sorted(missing, key=lambda frame: frame.pts or 0), delay=0)

    def _needed_lookahead(self) -> list[Held]:
        """The packets past the copy that the missing frames need: those up to the last one
        shown before END (a reference is decoded before the frames that use it, so nothing
        after that one is), less those neither shown before END nor a reference."""
        last = max(i for i, held in enumerate(self._lookahead) if held.pts < self._end)
        return [
            held
            for held in self._lookahead[: last + 1]
            if held.pts < self._end or not self._skippable(held.data)
        ]

    def _packet(self, held: Held) -> Packet[Stream]:
        return rebuilt(
            held.data, pts=held.pts, dts=held.dts, keyframe=held.keyframe, time_base=self._tb
        )

    # Re-encoded pieces.

    def _splice(self, frames: list[VideoFrame], *, delay: int) -> None:
        if frames:
            piece = Piece(self._stream)
            for frame in frames:
                piece.add(frame)
            self._mux_piece(piece.close(), delay=delay)

    def _mux_piece(self, packets: list[Packet[Stream]], *, delay: int) -> None:
        """Mux a re-encoded piece; its decode timestamps sit `delay` ticks before its
        presentation ones, as those of the copied packets after it do."""
        for packet in packets:
            assert packet.pts is not None
            pts = packet.pts + self._shift
            data = to_stored_form(
                self._stream.codec_context.codec.canonical_name, bytes(packet), self._extradata
            )
            ticks = packet.duration or self._frame_ticks
            piece = rebuilt(
                data,
                pts=pts,
                dts=pts - delay,
                keyframe=packet.is_keyframe,
                time_base=self._tb,
                duration=ticks,
            )
            self._muxer.mux(piece)
            self.position = max(self.position, float(pts * self._tb))

    def _decode(self, packet: Packet[Stream] | None) -> list[VideoFrame]:
        try:
            return self._stream.decode(packet)
        except av.error.InvalidDataError as exc:
            self._damage.skip(self._name, exc)
            return []

    def _skippable(self, data: bytes) -> bool:
        codec = self._stream.codec_context.codec.canonical_name
        return disposable(codec, data, self._extradata)

    @property
    def _extradata(self) -> bytes | None:
        return self._stream.codec_context.extradata


class Piece:
    """Frames re-encoded in the source's codec, size and time base as one closed GOP."""

    def __init__(self, stream: VideoStream) -> None:
        context = stream.codec_context
        assert stream.time_base is not None
        self._time_base = stream.time_base
        self._encoder = splicer(
            context.codec.canonical_name,
            size=(context.width, context.height),
            time_base=self._time_base,
            rate=stream.average_rate or Fraction(25),
        )
        self._packets: list[Packet[Stream]] = []

    def add(self, frame: VideoFrame) -> None:
        self._packets += self._encoder.encode(_plain(frame, self._time_base))

    def close(self) -> list[Packet[Stream]]:
        self._packets += self._encoder.encode(None)
        return self._packets


def _plain(frame: VideoFrame, time_base: Fraction) -> VideoFrame:
    """A decoded frame as an encoder wants it: its pixel format, no forced picture type."""
    plain = frame if frame.format.name == PIX_FMT else frame.reformat(format=PIX_FMT)
    plain.pts, plain.time_base = frame.pts, time_base
    plain.pict_type = PictureType.NONE
    return plain
