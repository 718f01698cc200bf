"""Every encoder editroom opens, set up in one place: codec, size, time base, bounded
threads and the quality settings of codecs.py. Each is opened here, at once, and its errors
(opening or encoding) are the result's: they name the codec and size asked, not the source
being read meanwhile."""

from __future__ import annotations

from fractions import Fraction
from typing import NoReturn

import av
from av.audio.codeccontext import AudioCodecContext
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.codec.context import CodecContext
from av.packet import Packet
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from runner.engine.video.codecs import (
    AUDIO_BIT_RATE,
    AUDIO_ENCODER,
    ENCODER,
    ENCODER_OPTIONS,
    THREADS,
    AudioCodec,
    VideoCodec,
)
from runner.engine.video.output import Output
from runner.engine.video.plan import Encoding
from runner.engine.video.probe import failed_making

Context = VideoCodecContext | AudioCodecContext
DEFAULTS = Encoding()  # editroom's own settings, codecs.ENCODER_OPTIONS
PIX_FMT = "yuv420p"  # what every player decodes
SPLICE_KEYINT_FRAMES = 100_000  # one keyframe per spliced piece, at its start
# A spliced piece must decode in display order (no B-frames, no hidden frames) so its
# timestamps can sit before the copied packets, and must carry its parameter sets in-band.
SPLICE_OPTIONS: dict[VideoCodec, dict[str, str]] = {
    "h264": {"preset": "ultrafast", "bframes": "0", "crf": "20"},
    "hevc": {"x265-params": "log-level=error:pools=2:bframes=0:repeat-headers=1", "crf": "20"},
    "vp9": {"auto-alt-ref": "0", "lag-in-frames": "0", "crf": "24"},
}


class Encoder:
    """An open encoder of the result: FFmpeg's errors from it fail the edit naming `what` it
    was asked to make ("hevc at 8x4"); real I/O trouble and running out of memory pass, as
    everywhere (probe.about_the_media)."""

    def __init__(self, context: Context, *, what: str, stream: Stream | None = None) -> None:
        self.context, self._stream, self._what = context, stream, what
        try:
            context.open()
        except av.error.FFmpegError as exc:
            self._refuse(exc)

    @property
    def stream(self) -> Stream:
        """The output stream its packets go to (a smart cut's pieces have none: they are
        spliced into the copied stream)."""
        assert self._stream is not None
        return self._stream

    def encode(self, frame: VideoFrame | AudioFrame | None) -> list[Packet[Stream]]:
        """`frame` None: flush what the encoder holds."""
        try:
            return self.context.encode(frame)  # type: ignore[arg-type]  # its own kind's
        except av.error.FFmpegError as exc:
            self._refuse(exc)

    def _refuse(self, error: av.error.FFmpegError) -> NoReturn:
        failed_making(error, f"the result cannot be encoded as {self._what}")


def add_video(
    output: Output,
    codec: VideoCodec,
    *,
    size: tuple[int, int],
    time_base: Fraction,
    rate: Fraction,
    encoding: Encoding = DEFAULTS,
) -> Encoder:
    stream = output.add_stream(ENCODER[codec], rate=rate)
    assert isinstance(stream, VideoStream)
    _configure(stream.codec_context, size=size, time_base=time_base)
    stream.codec_context.options = options(codec, encoding)
    if encoding.bit_rate is not None:
        stream.codec_context.bit_rate = encoding.bit_rate
    tag_hvc1(output, stream)
    return Encoder(stream.codec_context, what=_sized(codec, size), stream=stream)


def options(codec: VideoCodec, encoding: Encoding) -> dict[str, str]:
    """The encoder's options: editroom's defaults (codecs.ENCODER_OPTIONS) with what crf=,
    bitrate= and preset= asked. A bit rate replaces the constant quality."""
    chosen = dict(ENCODER_OPTIONS[codec])
    if encoding.bit_rate is not None:
        chosen.pop("crf", None)
        chosen.pop("b", None)  # vp9's b=0 asks for constant quality
    if encoding.crf is not None:
        chosen["crf"] = str(encoding.crf)
    if encoding.preset is not None:
        chosen["preset"] = encoding.preset
    return chosen


def tag_hvc1(output: Output, stream: Stream) -> None:
    """HEVC in MP4 and MOV is tagged hvc1, which Apple's players require (FFmpeg's default,
    hev1, they refuse)."""
    context = stream.codec_context
    if output.format.name in ("mp4", "mov") and context.codec.canonical_name == "hevc":
        context.codec_tag = "hvc1"


def state_rate(stream: Stream, rate: Fraction) -> None:
    """A copied picture's stream states its source's frame rate, which the header is written
    with: Matroska and WebM write a frame's own length (a BlockDuration) only on a track that
    declares a default one (its DefaultDuration, FFmpeg's from the stream's rate). A VP9
    decoder knows no rate (VP9 carries no timing; H.264's SPS does), so a copied VP9's last
    frame, held until the sound ends (Muxer.close), was written without its length: players
    and FFmpeg ended the picture with that frame's start."""
    context = stream.codec_context
    assert isinstance(context, VideoCodecContext)
    context.framerate = rate


def splicer(codec: str, *, size: tuple[int, int], time_base: Fraction, rate: Fraction) -> Encoder:
    """A standalone encoder for the partial GOP of a smart cut, in the source's codec."""
    assert codec in SPLICE_OPTIONS, codec
    known: VideoCodec = codec
    context = CodecContext.create(ENCODER[known], "w")
    assert isinstance(context, VideoCodecContext)
    context.framerate = rate
    _configure(context, size=size, time_base=time_base)
    context.gop_size = SPLICE_KEYINT_FRAMES
    context.options = {**ENCODER_OPTIONS[known], **SPLICE_OPTIONS[known]}
    return Encoder(context, what=_sized(known, size))


def add_gif(
    output: Output, *, size: tuple[int, int], rate: Fraction, time_base: Fraction
) -> Encoder:
    stream = output.add_stream("gif", rate=rate)
    assert isinstance(stream, VideoStream)
    _configure(stream.codec_context, size=size, time_base=time_base)
    stream.codec_context.pix_fmt = "pal8"
    return Encoder(stream.codec_context, what=_sized("gif", size), stream=stream)


def add_audio(output: Output, codec: AudioCodec, *, rate: int) -> Encoder:
    stream = output.add_stream(AUDIO_ENCODER[codec], rate=rate)
    assert isinstance(stream, AudioStream)
    context = stream.codec_context
    context.layout = "stereo"
    context.format = av.AudioFormat("flt" if codec == "opus" else "fltp")
    context.bit_rate = AUDIO_BIT_RATE[codec]
    context.time_base = Fraction(1, rate)
    context.thread_count = THREADS
    return Encoder(context, what=f"{codec} at {rate} Hz", stream=stream)


def _sized(codec: str, size: tuple[int, int]) -> str:
    return f"{codec} at {size[0]}x{size[1]}"


def _configure(context: VideoCodecContext, *, size: tuple[int, int], time_base: Fraction) -> None:
    context.width, context.height = size
    context.pix_fmt = PIX_FMT
    context.time_base = time_base
    context.thread_count = THREADS
