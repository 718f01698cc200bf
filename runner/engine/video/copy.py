"""Video packets copied, not re-encoded. With `accurate`, a cut between keyframes is a smart
cut: the frames from START to the next keyframe are decoded and re-encoded in the source's
codec (the head), everything from that keyframe on is copied, and the few frames before END
that a copied prefix cannot show (B-frames whose references lie past END) are re-encoded
too (the tail). Without `accurate` the result starts on the keyframe at or before START.

The head is decoded and re-encoded on a thread of its own (background.py) while the packets
after it are copied and the tail is re-encoded: the copied packets wait in memory (at most
MAX_PENDING_PACKETS) until the head is muxed before them. Each cut has a decoder of its own,
made from the stream's parameters, so no decoder is shared between threads and none belongs
to the container being read."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Literal

import av
from av.packet import Packet
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.background import Background
from runner.engine.video.nal import disposable, in_band, to_stored_form
from runner.engine.video.output import Muxer
from runner.engine.video.plan import Segment
from runner.engine.video.probe import EPSILON_SECONDS, check_frame, origin_ticks
from runner.engine.video.recode import Coding, Piece
from runner.engine.video.sink import Damage, Opening, end_from

LOOKAHEAD_PACKETS = 32  # past END, to find frames shown before END but decoded after it
MAX_PENDING_PACKETS = 600  # copied while the head is re-encoded; past it the copy waits
MAX_FRAMES_TO_ENCODE = 8  # decoded head frames waiting for the encoder's thread (MB each)
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
        self.muxer, self._accurate = muxer, accurate
        self.done, self.position = False, 0.0

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        assert isinstance(stream, VideoStream)
        assert stream.time_base is not None
        self._stream, self._tb, self._offset = stream, stream.time_base, offset
        self._seconds_per_tick = float(self._tb)
        origin = origin_ticks(stream)
        self._start = origin + round(start / self._tb)
        self._end = origin + round(segment.end / self._tb)
        self._eps = max(1, round(EPSILON_SECONDS / self._tb))
        first = origin + round(segment.start / self._tb)
        self._end_from = end_from(start=first, end=self._end, tolerance=self._eps)
        self._shift = round(offset / self._tb) - self._start
        self._phase: Phase = "head" if self._accurate else "copy"
        self._coding = Coding.of(stream)
        self._head: Piece | None = None  # built and fed on the head's encoding thread
        self._head_encoding: Background[list[Packet[Stream]]] | None = None
        self._head_decoder: VideoCodecContext | None = None
        self._head_work: Background[list[Packet[Stream]]] | None = None
        self._head_full = False  # the head's thread decoded a frame at or past END
        self._head_latest: int | None = None  # the highest pts up to START the head was given
        self._head_delay = 0
        self._opening = Opening()  # on the head's thread
        self._pending: list[Packet[Stream]] = []  # copied, waiting for the head to be muxed
        self._spliced = False
        self._gop: list[Held] = []
        self._lookahead: list[Held] = []
        self._floor: int | None = None  # pts of the first copied keyframe
        self._top: int | None = None  # the highest pts copied
        self._last_dts: int | None = None
        self._frame_ticks = max(1, round(1 / (stream.average_rate or 25) / self._tb))
        self._damage, self._source = Damage(), segment.source
        self.muxer.show_until(offset + segment.end - start)
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
            if self._head_full:  # the whole cut lies before the next keyframe
                self._finish_head(None)
                return
            if not (packet.is_keyframe and packet.pts >= self._start - self._eps):
                self._to_head(packet)
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
        self._settle()
        self.done = True

    def finish(self) -> None:
        """Every piece is flushed at the end of its segment: the last packet is written."""
        self.muxer.close()

    # The head: START to the next keyframe, re-encoded on its own thread.

    def _to_head(self, packet: Packet[Stream]) -> None:
        if self._head_work is None:
            self._head_work = Background("editroom-head")
            self._head_decoder = self._coding.decoder()
            self._spliced = True  # the first copied keyframe carries the parameter sets
        self._head_work.submit(partial(self._decode_head, packet))

    def _decode_head(self, packet: Packet[Stream]) -> None:
        """On the head's thread."""
        if self._head_full:
            return
        if self._over_before_start(packet) and self._skippable(bytes(packet)):
            return  # shown before the cut and no reference for anything: not decoded
        if packet.pts is not None and packet.pts <= self._start + self._eps:
            latest = self._head_latest
            self._head_latest = packet.pts if latest is None else max(latest, packet.pts)
        assert self._head_decoder is not None
        self._head_frames(self._decode(packet, self._head_decoder))

    def _over_before_start(self, packet: Packet[Stream]) -> bool:
        """On the head's thread: whether a packet's frame is off screen by START, as a frame
        is on screen until the next one, whatever duration its packet says (if any: MPEG-TS
        of irregular rate gives none, and a B-frame on screen at START was then never
        decoded): a frame shown after it and by START came before it. In decoding order a
        B-frame comes after the frame it precedes, so only those of the group START falls
        in are decoded for nothing."""
        pts = packet.pts
        return pts is not None and self._head_latest is not None and pts < self._head_latest

    def _head_frames(self, frames: list[VideoFrame]) -> None:
        """On the head's thread: those from START on are encoded, up to END."""
        for frame in frames:
            if frame.pts is None or self._head_full:
                continue
            if frame.pts < self._start - self._eps:
                self._opening.before(frame)
                continue
            self._open(next_pts=frame.pts)
            if frame.pts >= self._end_from:
                self._head_full = True
                return
            frame.pts = max(frame.pts, self._start)  # within the tolerance before START: at it
            self._head_frame(frame)

    def _open(self, *, next_pts: int | None) -> None:
        """The frame on screen at START, when the first one starting there comes late."""
        after = None if next_pts is None else (next_pts - self._start) * self._seconds_per_tick
        if next_pts is not None and next_pts >= self._end_from:
            after = math.inf  # not the segment's: the frame before is on screen throughout
        if (frame := self._opening.shown(next_after=after)) is not None:
            frame.pts = self._start
            self._head_frame(frame)

    def _close_head(self, next_pts: int | None) -> list[Packet[Stream]]:
        """On the head's thread: the frames the decoder still holds, the frame on screen at
        START if none of them starts there (`next_pts`: the keyframe after the head, None
        when there is none), then the piece."""
        assert self._head_decoder is not None
        self._head_frames(self._decode(None, self._head_decoder))
        if not self._head_full:
            self._open(next_pts=next_pts)
        if self._head_encoding is None:
            return []
        self._head_encoding.finish(lambda: [] if self._head is None else self._head.close())
        return self._head_encoding.result()

    def _finish_head(self, keyframe: Packet[Stream] | None) -> None:
        self._head_delay = 0 if keyframe is None else (keyframe.pts or 0) - (keyframe.dts or 0)
        if self._head_work is not None:
            next_pts = None if keyframe is None else keyframe.pts
            self._head_work.finish(partial(self._close_head, next_pts))
        self._phase = "copy"
        self.done = keyframe is None

    def _head_frame(self, frame: VideoFrame) -> None:
        """Head frames are encoded as they come, on a thread of their own while the next
        are decoded (a GOP of decoded 1080p frames is large: few wait); their packets wait
        for the keyframe that says how far to shift their dts."""
        if self._head_encoding is None:
            self._head_encoding = Background("editroom-encode", max_waiting=MAX_FRAMES_TO_ENCODE)
        self._head_encoding.submit(partial(self._encode_head, frame))

    def _encode_head(self, frame: VideoFrame) -> None:
        if self._head is None:
            self._head = Piece(self._coding)
        self._head.add(frame)

    def _settle(self) -> None:
        """The head muxed (waiting for its thread), then the packets copied meanwhile."""
        work, self._head_work = self._head_work, None
        if work is None:
            return
        self._mux_piece(work.result(), delay=self._head_delay)
        pending, self._pending = self._pending, []
        for packet in pending:
            self.muxer.mux(packet)

    def _emit(self, packet: Packet[Stream]) -> None:
        """A copied packet, muxed once the head before it is."""
        if self._head_work is not None:
            if not self._head_work.done() and len(self._pending) < MAX_PENDING_PACKETS:
                self._pending.append(packet)
                return
            self._settle()
        self.muxer.mux(packet)

    # The copy: keyframe to END.

    def _copy(self, packet: Packet[Stream]) -> None:
        assert packet.pts is not None
        held = Held.of(packet) if self._accurate else None
        if packet.is_keyframe:
            self._gop = []
        if packet.pts >= self._end_from:
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
            data = in_band(self._coding.codec, self._extradata, bytes(packet))
            packet = rebuilt(
                data, pts=pts, dts=dts, keyframe=True, time_base=self._tb,
                duration=packet.duration or self._frame_ticks,
            )  # fmt: skip
        pts = max(pts, self._start)  # a keyframe within the tolerance before START is at it
        packet.pts, packet.dts = pts + self._shift, dts + self._shift
        self.position = (pts + self._shift) * self._seconds_per_tick
        self._emit(packet)

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
        if not any(ceiling < held.pts < self._end_from for held in self._lookahead):
            return
        frames: list[VideoFrame] = []
        decoder = self._coding.decoder()  # the head's thread may still be using its own
        for held in [*self._gop, *self._needed_lookahead(), None]:
            if held is not None and held.pts <= ceiling and self._skippable(held.data):
                continue  # copied already, and no reference for the frames wanted
            frames += self._decode(None if held is None else self._packet(held), decoder)
        missing = [f for f in frames if f.pts is not None and ceiling < f.pts < self._end]
        tail = self._encoded(sorted(missing, key=lambda frame: frame.pts or 0))
        self._settle()
        self._mux_piece(tail, delay=0)

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

    def _encoded(self, frames: list[VideoFrame]) -> list[Packet[Stream]]:
        if not frames:
            return []
        piece = Piece(self._coding)
        for frame in frames:
            piece.add(frame)
        return piece.close()

    def _mux_piece(self, packets: list[Packet[Stream]], *, delay: int) -> None:
        """Mux a re-encoded piece; its decode timestamps sit `delay` ticks before its
        presentation ones, as those of the copied packets after it do."""
        for packet in packets:
            assert packet.pts is not None
            pts = packet.pts + self._shift
            data = to_stored_form(self._coding.codec, bytes(packet), self._extradata)
            ticks = packet.duration or self._frame_ticks
            piece = rebuilt(
                data,
                pts=pts,
                dts=pts - delay,
                keyframe=packet.is_keyframe,
                time_base=self._tb,
                duration=ticks,
            )
            self.muxer.mux(piece)
            self.position = max(self.position, float(pts * self._tb))

    def _decode(
        self, packet: Packet[Stream] | None, decoder: VideoCodecContext
    ) -> list[VideoFrame]:
        try:
            frames = decoder.decode(packet)
        except av.error.InvalidDataError as exc:
            self._damage.skip(self._source.path.name, exc)
            return []
        for frame in frames:
            check_frame(frame, self._source)
        return frames

    def _skippable(self, data: bytes) -> bool:
        return disposable(self._coding.codec, data, self._extradata)

    @property
    def _extradata(self) -> bytes | None:
        return self._coding.extradata
