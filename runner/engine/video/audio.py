"""Audio: copied packet by packet, or decoded, resampled and re-encoded sample-exactly, so
each segment's sound starts with its picture; silence fills what a source lacks."""

from __future__ import annotations

from fractions import Fraction
from typing import NoReturn

import av
import numpy as np
from av.audio.codeccontext import AudioCodecContext
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.filter import Graph
from av.packet import Packet
from av.stream import Stream

from runner.engine.video.encoders import Encoder
from runner.engine.video.output import Muxer
from runner.engine.video.plan import Segment
from runner.engine.video.probe import EPSILON_SECONDS, failed_making, origin_ticks
from runner.engine.video.sink import Damage, end_from, on_at_start, seconds

CHANNELS = 2  # every re-encoded result is stereo
RESYNC_SECONDS = 0.04  # drift beyond this between timestamps and samples is a gap or overlap
PLANAR = "fltp"


class AudioCopy:
    """Packets that overlap [start, end) are kept: sync within one audio frame.

    A decoder plays every packet whole and back to back, so where parts join, the last
    frame of the part before (padded past its end) and the next part's priming would push
    the next part's sound late, more at every join. A part after the first therefore starts
    with its first packet that would be heard less than half a frame late."""

    def __init__(self, muxer: Muxer) -> None:
        self.muxer = muxer
        self._heard_until: float | None = None  # seconds: where playing the packets so far ends
        self.done, self.position = False, 0.0

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        assert isinstance(stream, AudioStream)
        self._stream, self._segment, self._start = stream, segment, start
        self._offset, self._joining = offset, self._heard_until is not None
        self._end_from = end_from(start=segment.start, end=segment.end, tolerance=EPSILON_SECONDS)
        assert stream.time_base is not None
        origin = origin_ticks(stream)
        self._shift = round(offset / stream.time_base) - origin - round(start / stream.time_base)
        self._origin, self._seconds_per_tick = origin, float(stream.time_base)
        context = stream.codec_context
        self._frame_seconds = (context.frame_size or 0) / (context.sample_rate or 1)
        self.done = False

    def push(self, packet: Packet[Stream]) -> None:
        if packet.dts is None or packet.pts is None:
            return
        at = (packet.pts - self._origin) * self._seconds_per_tick  # seconds(), without Fractions
        if at >= self._end_from:
            self.done = True
            return
        length = (packet.duration or 0) * self._seconds_per_tick
        before = not on_at_start(
            at + length, start=self._start, end=self._segment.end, tolerance=EPSILON_SECONDS
        )
        if self._start > 0 and before:
            return  # before the cut; uncut, even priming packets before zero are kept
        if not self._heard_in_time(self._offset + at - self._start, length):
            return
        packet.pts, packet.dts = packet.pts + self._shift, packet.dts + self._shift
        self.muxer.mux(packet)
        self.position = self.muxer.end

    def _heard_in_time(self, placed: float, length: float) -> bool:
        """Counts the packet as played; False: it joins a part and would be heard too late."""
        frame = self._frame_seconds or length
        if self._heard_until is None:
            self._heard_until = placed
        elif self._joining and self._heard_until - placed > frame / 2:
            return False
        self._joining = False
        self._heard_until += frame
        return True

    def end(self) -> None:
        """Nothing is held between packets."""

    def finish(self) -> None:
        """Nothing to flush."""


class Tempo:
    """Sound played `speed` times as fast with its pitch kept: FFmpeg's atempo, chained, as
    one atempo takes factors from 0.5 to 2 only. FFmpeg refusing the graph or the sound fails
    the edit naming the result, not the source being read meanwhile (failed_making)."""

    STEPS = "atempo, aformat"

    def __init__(self, speed: float, *, rate: int) -> None:
        try:
            self._graph = _tempo_graph(speed, rate=rate)
        except av.error.FFmpegError as exc:
            self._refuse(exc)

    def push(self, frame: AudioFrame | None) -> list[np.ndarray]:
        try:
            self._graph.push(frame)
            return _drain(self._graph)
        except av.error.FFmpegError as exc:
            self._refuse(exc)

    def _refuse(self, error: av.error.FFmpegError) -> NoReturn:
        failed_making(error, f"the result's sound cannot be made ({self.STEPS})")


def _tempo_graph(speed: float, *, rate: int) -> Graph:
    graph = Graph()
    nodes = [
        graph.add_abuffer(
            sample_rate=rate, format=PLANAR, layout="stereo", time_base=Fraction(1, rate)
        ),
        *(graph.add("atempo", f"{factor:.6f}") for factor in tempo_factors(speed)),
        graph.add("aformat", f"sample_fmts={PLANAR}:channel_layouts=stereo"),
        graph.add("abuffersink"),
    ]
    graph.link_nodes(*nodes).configure()
    return graph


def _drain(graph: Graph) -> list[np.ndarray]:
    pulled: list[np.ndarray] = []
    while True:
        try:
            out = graph.pull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return pulled
        assert isinstance(out, AudioFrame)
        pulled.append(out.to_ndarray())


def tempo_factors(speed: float) -> list[float]:
    """Factors within atempo's 0.5 to 2 whose product is `speed`."""
    factors: list[float] = []
    while speed > 2 or speed < 0.5:
        step = 2.0 if speed > 2 else 0.5
        factors.append(step)
        speed /= step
    return [*factors, speed]


class AudioTranscode:
    """`gain` scales the amplitude; `speed` plays the sound faster (see Tempo): a sample at
    source time t is placed at (t - START) / speed on the segment's stretch of the result."""

    def __init__(
        self, muxer: Muxer, encoder: Encoder, *, gain: float = 1.0, speed: float = 1.0
    ) -> None:
        self.muxer, self._encoder = muxer, encoder
        self._gain, self._speed = gain, speed
        context = encoder.context
        assert isinstance(context, AudioCodecContext)
        self._rate = context.sample_rate
        self._frame_size = context.frame_size or 1024
        self._planar = context.format.is_planar
        self._pending = np.zeros((CHANNELS, 0), dtype=np.float32)
        self._written = 0  # samples handed to the encoder or pending, from the result's start
        self.done, self.position = False, 0.0

    def begin(self, stream: Stream, segment: Segment, *, start: float, offset: float) -> None:
        assert isinstance(stream, AudioStream)
        self._stream, self._segment, self._start, self._offset = stream, segment, start, offset
        self._end_from = end_from(start=segment.start, end=segment.end, tolerance=EPSILON_SECONDS)
        self._resampler = AudioResampler(format=PLANAR, layout="stereo", rate=self._rate)
        self._tempo = Tempo(self._speed, rate=self._rate) if self._speed != 1.0 else None
        self._tempo_from: float | None = None  # source seconds of the first sample it took
        self._tempo_out = 0  # samples it gave
        self._aligned = False
        self._damage = Damage()
        self.silence_until(offset)
        self.done = False

    def push(self, packet: Packet[Stream]) -> None:
        for frame in self._decode(packet):
            self._frame(frame)

    def _decode(self, packet: Packet[Stream] | None) -> list[AudioFrame]:
        try:
            return self._stream.decode(packet)
        except av.error.InvalidDataError as exc:
            self._damage.skip(self._segment.source.path.name, exc)
            return []

    def end(self) -> None:
        if not self.done:
            for frame in self._decode(None):
                self._frame(frame)
        if self._tempo is not None:
            self._tempo_place(self._tempo.push(None))
        self.silence_until(self._offset + (self._segment.end - self._start) / self._speed)

    def silence_until(self, seconds_: float) -> None:
        missing = round(seconds_ * self._rate) - self._written
        if missing > 0:
            self._append(np.zeros((CHANNELS, missing), dtype=np.float32))

    def finish(self) -> None:
        self._emit(final=True)
        for packet in self._encoder.encode(None):
            self.muxer.mux(packet)

    def _frame(self, frame: AudioFrame) -> None:
        at = seconds(self._stream, frame.pts)
        if self.done or at is None:
            return
        if at >= self._end_from:
            self.done = True
            return
        for resampled in self._resampled(frame):
            if self._tempo is not None:
                self._tempo_from = at if self._tempo_from is None else self._tempo_from
                self._tempo_place(self._tempo.push(resampled))
            else:
                self._place(resampled.to_ndarray(), at)
            at += resampled.samples / self._rate

    def _resampled(self, frame: AudioFrame) -> list[AudioFrame]:
        """The source's sound in the result's rate and format: FFmpeg refusing to convert it
        is the result's, as a filter refusing the frames is (conform.Conformer)."""
        try:
            return self._resampler.resample(frame)
        except av.error.FFmpegError as exc:
            failed_making(exc, "the result's sound cannot be made (aresample)")

    def _tempo_place(self, chunks: list[np.ndarray]) -> None:
        """Sound out of atempo: its n-th sample stands for the source at n * speed / rate."""
        if self._tempo_from is None:
            return
        for samples in chunks:
            self._place(samples, self._tempo_from + self._tempo_out * self._speed / self._rate)
            self._tempo_out += samples.shape[1]

    def _place(self, samples: np.ndarray, at: float) -> None:
        """`at`: source seconds of the first sample. Sound before START is not the
        segment's, however near it: a decoder fed from the keyframe before START gives
        frames ending there, and one within RESYNC_SECONDS of the result's start would
        otherwise pass for a timestamp's jitter and be written from it, the rest late."""
        speed = self._speed
        first = round((self._offset + (at - self._start) / speed) * self._rate)
        last = round((self._offset + (self._segment.end - self._start) / speed) * self._rate)
        opening = round(self._offset * self._rate)
        if first < opening:
            samples, first = samples[:, opening - first :], opening
            if not samples.shape[1]:
                return
        drift = first - self._written
        if not self._aligned or abs(drift) > RESYNC_SECONDS * self._rate:
            self._aligned = True
            self.silence_until(min(first, last) / self._rate)  # a gap: silence
            samples = samples[:, max(0, self._written - first) :]  # an overlap: cut
        samples = samples[:, : max(0, last - self._written)]
        if self._gain != 1.0:
            samples = np.clip(samples * self._gain, -1.0, 1.0)
        self._append(samples.astype(np.float32, copy=False))
        self.position = self._written / self._rate

    def _append(self, samples: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, samples], axis=1)
        self._written += samples.shape[1]
        self._emit()

    def _emit(self, *, final: bool = False) -> None:
        size = self._frame_size
        while self._pending.shape[1] >= size or (final and self._pending.shape[1]):
            chunk, self._pending = self._pending[:, :size], self._pending[:, size:]
            start = self._written - self._pending.shape[1] - chunk.shape[1]
            for packet in self._encoder.encode(self._audio_frame(chunk, start)):
                self.muxer.mux(packet)

    def _audio_frame(self, chunk: np.ndarray, start: int) -> AudioFrame:
        data = chunk if self._planar else chunk.T.reshape(1, -1)
        frame = AudioFrame.from_ndarray(
            np.ascontiguousarray(data), format=PLANAR if self._planar else "flt", layout="stereo"
        )
        frame.sample_rate, frame.pts = self._rate, start
        return frame
