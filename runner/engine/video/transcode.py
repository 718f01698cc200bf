"""Video re-encoding: decode, conform (rotation, size, letterbox), place on the result's
timeline (keeping the source's timestamps, or on a constant-rate grid), encode."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction

import av
from av.packet import Packet
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.burn import Burn, burned
from runner.engine.video.conform import Conformer, ConstantRate, chain, same_shape
from runner.engine.video.encoders import Encoder
from runner.engine.video.output import Muxer
from runner.engine.video.plan import Segment, VideoPlan
from runner.engine.video.probe import EPSILON_SECONDS, check_frame, failed_making
from runner.engine.video.sink import Damage, Opening, end_from, seconds

TIMELINE_CLOCK = Fraction(1, 90_000)  # ticks of the result's timeline before a grid

Finish = Callable[[VideoFrame | None], list[VideoFrame]]  # e.g. a GIF's palette step


def _unchanged(frame: VideoFrame | None) -> list[VideoFrame]:
    return [] if frame is None else [frame]


class VideoTranscode:
    def __init__(
        self,
        muxer: Muxer,
        encoder: Encoder,
        *,
        plan: VideoPlan,
        first_shape: tuple[int, int],
        finish: Finish = _unchanged,
        pix_fmt: str | None = None,
        burns: Sequence[Burn] = (),
        shown_from_start: bool = False,
    ) -> None:
        """shown_from_start: the first frame is shown from the result's start however late it
        comes (a GIF has no time before its first frame: its frames' delays are its length);
        a grid does so anyway."""
        self.muxer, self._encoder, self._plan = muxer, encoder, plan
        self._shown_from_start = shown_from_start
        self._burns = burns
        self._first_shape = first_shape
        self._finish_frame = finish
        context = encoder.context
        assert isinstance(context, VideoCodecContext)
        self._pix_fmt = pix_fmt or context.pix_fmt or "yuv420p"
        self._time_base: Fraction = context.time_base or Fraction(1, 90_000)
        self._grid = ConstantRate(plan.rate) if plan.rate else None
        # The frames' clock up to the grid: finer than the grid's slots (the encoder's time
        # base then), which would round sped-up frames onto slots before the grid chose.
        self._clock = TIMELINE_CLOCK if self._grid is not None else self._time_base
        self._last_pts = -1
        self._shown_until = 0.0  # seconds of the result the frames pushed so far fill
        self.done, self.position = False, 0.0

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        assert isinstance(stream, VideoStream)
        self._stream, self._segment, self._start, self._offset = stream, segment, start, offset
        video = segment.source.video
        letterbox = not same_shape(video.display_size, self._first_shape)
        filters = chain(
            rotation=video.rotation, size=self._plan.size, letterbox=letterbox,
            pix_fmt=self._pix_fmt, base=self._plan.base, geometry=self._plan.filters,
        )  # fmt: skip
        self._conformer = Conformer(filters, time_base=self._clock)
        self._damage = Damage()
        sped = self._plan.speed != 1.0
        self._opening = Opening(gap_seconds=EPSILON_SECONDS) if sped else Opening()
        self.muxer.show_until(offset + (segment.end - start) / self._plan.speed)
        self._end_from = end_from(start=segment.start, end=segment.end, tolerance=EPSILON_SECONDS)
        self.done = False

    def push(self, packet: Packet[Stream]) -> None:
        for frame in self._decode(packet):
            self._frame(frame)

    def _decode(self, packet: Packet[Stream] | None) -> list[VideoFrame]:
        try:
            frames = self._stream.decode(packet)
        except av.error.InvalidDataError as exc:
            self._damage.skip(self._segment.source.path.name, exc)
            return []
        for frame in frames:
            check_frame(frame, self._segment.source)
        return frames

    def end(self) -> None:
        if not self.done:
            for frame in self._decode(None):
                self._frame(frame)
            self._open(next_after=None)
        self._encode_all(self._conformer.push(None))
        if self._grid is not None:  # the segment's last frame, as long as it is shown
            self._send_on_grid(self._grid.close(self._shown_until))

    def finish(self) -> None:
        self._encode_all(self._finish_frame(None), finished=True)
        for packet in self._encoder.encode(None):
            self.muxer.mux(packet)
        self.muxer.close()

    def _frame(self, frame: VideoFrame) -> None:
        at = seconds(self._stream, frame.pts)
        if self.done or at is None:
            return
        if at < self._start - EPSILON_SECONDS:
            self._opening.before(frame)
            return
        # Seconds on the result, as the gap is counted: the speed scales the source's
        after = math.inf if at >= self._end_from else (at - self._start) / self._plan.speed
        self._open(next_after=after)
        if at >= self._end_from:
            self.done = True
            return
        self._show(frame, max(at, self._start))  # within EPSILON_SECONDS before START: at it

    def _open(self, *, next_after: float | None) -> None:
        """The frame on screen at the start, when the first one starting there comes late."""
        if (frame := self._opening.shown(next_after=next_after)) is not None:
            self._show(frame, self._start)

    def _show(self, frame: VideoFrame, at: float) -> None:
        """`at`: seconds after the source's origin the frame is shown from."""
        self.position = self._offset + (at - self._start) / self._plan.speed
        lasts = min(float(1 / self._segment.source.video.rate), self._segment.end - at)
        self._shown_until = self.position + lasts / self._plan.speed
        frame.pts = round(self.position / self._clock)
        frame.time_base = self._clock
        self._encode_all(self._conformer.push(frame))

    def _encode_all(self, frames: list[VideoFrame], *, finished: bool = False) -> None:
        frames = [self._burned(frame) for frame in frames] if not finished else frames
        for frame in frames if finished else [g for f in frames for g in self._finish_frame(f)]:
            self._place(frame)

    def _burned(self, frame: VideoFrame) -> VideoFrame:
        """The frame (already the result's) with text and overlays drawn on it: FFmpeg refusing
        its conversion to RGB and back is the result's."""
        if not self._burns or frame.pts is None:
            return frame
        try:
            return burned(frame, self._burns, seconds=float(frame.pts * self._clock))
        except av.error.FFmpegError as exc:
            failed_making(exc, "the result's frames cannot be made (text, overlay)")

    def _place(self, frame: VideoFrame) -> None:
        assert frame.pts is not None
        if self._grid is None:
            if self._last_pts < 0 and self._shown_from_start:
                frame.pts = 0
            if frame.pts > self._last_pts:  # encoders need increasing timestamps
                self._last_pts = frame.pts
                self._send(frame)
            return
        self._send_on_grid(self._grid.place(frame, float(frame.pts * self._clock)))

    def _send_on_grid(self, settled: list[tuple[int, VideoFrame]]) -> None:
        for slot, frame in settled:
            frame.pts, frame.time_base = slot, self._time_base  # the grid's: 1 / its rate
            self._send(frame)

    def _send(self, frame: VideoFrame) -> None:
        """Encoders take their own reference, so a frame may be sent again with a new pts."""
        for packet in self._encoder.encode(frame):
            self.muxer.mux(packet)
