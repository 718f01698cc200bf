"""What a smart cut re-encodes with: the source stream's coding, read once (Coding), a
decoder of its own for each cut, and the encoder of a spliced piece (Piece)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
from av.codec.context import CodecContext
from av.packet import Packet
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.codecs import THREADS
from runner.engine.video.encoders import PIX_FMT, splicer
from runner.engine.video.probe import failed_making


@dataclass(frozen=True, slots=True)
class Coding:
    """What decoding and re-encoding a cut takes of the source's video stream, read once in
    the demuxing thread: the head's thread never touches the container."""

    codec: str
    extradata: bytes | None
    size: tuple[int, int]
    time_base: Fraction
    rate: Fraction

    @classmethod
    def of(cls, stream: VideoStream) -> Coding:
        context = stream.codec_context
        assert stream.time_base is not None
        return cls(
            codec=context.codec.canonical_name, extradata=context.extradata,
            size=(context.width, context.height), time_base=stream.time_base,
            rate=stream.average_rate or Fraction(25),
        )  # fmt: skip

    def decoder(self) -> VideoCodecContext:
        context = CodecContext.create(self.codec, "r")
        assert isinstance(context, VideoCodecContext)
        context.extradata = self.extradata
        context.thread_count = THREADS
        context.thread_type = "AUTO"
        return context


class Piece:
    """Frames re-encoded in the source's codec, size and time base as one closed GOP."""

    def __init__(self, coding: Coding) -> None:
        self._time_base = coding.time_base
        self._encoder = splicer(
            coding.codec, size=coding.size, time_base=coding.time_base, rate=coding.rate
        )
        self._packets: list[Packet[Stream]] = []

    def add(self, frame: VideoFrame) -> None:
        """A decoded frame of the source, converted for the encoder: FFmpeg refusing that is
        the result's, as the encoder refusing the frame is."""
        try:
            plain = _plain(frame, self._time_base)
        except av.error.FFmpegError as exc:
            failed_making(exc, "the result's frames cannot be made (format)")
        self._packets += self._encoder.encode(plain)

    def close(self) -> list[Packet[Stream]]:
        self._packets += self._encoder.encode(None)
        return self._packets


def _plain(frame: VideoFrame, time_base: Fraction) -> VideoFrame:
    """A decoded frame as an encoder wants it: its pixel format, no forced picture type."""
    plain = frame if frame.format.name == PIX_FMT else frame.reformat(format=PIX_FMT)
    plain.pts, plain.time_base = frame.pts, time_base
    plain.pict_type = PictureType.NONE
    return plain
