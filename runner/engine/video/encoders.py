"""Every encoder editroom opens, set up in one place: codec, size, time base, bounded
threads and the quality settings of codecs.py."""

from fractions import Fraction

import av
from av.audio.stream import AudioStream
from av.codec.context import CodecContext
from av.stream import Stream
from av.video.codeccontext import VideoCodecContext
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


def add_video(
    output: Output,
    codec: VideoCodec,
    *,
    size: tuple[int, int],
    time_base: Fraction,
    rate: Fraction,
    encoding: Encoding = DEFAULTS,
) -> VideoStream:
    stream = output.add_stream(ENCODER[codec], rate=rate)
    assert isinstance(stream, VideoStream)
    _configure(stream.codec_context, size=size, time_base=time_base)
    stream.codec_context.options = options(codec, encoding)
    if encoding.bit_rate is not None:
        stream.codec_context.bit_rate = encoding.bit_rate
    tag_hvc1(output, stream)
    return stream


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


def splicer(
    codec: str, *, size: tuple[int, int], time_base: Fraction, rate: Fraction
) -> VideoCodecContext:
    """A standalone encoder for the partial GOP of a smart cut, in the source's codec."""
    assert codec in SPLICE_OPTIONS, codec
    known: VideoCodec = codec
    context = CodecContext.create(ENCODER[known], "w")
    assert isinstance(context, VideoCodecContext)
    context.framerate = rate
    _configure(context, size=size, time_base=time_base)
    context.gop_size = SPLICE_KEYINT_FRAMES
    context.options = {**ENCODER_OPTIONS[known], **SPLICE_OPTIONS[known]}
    return context


def add_gif(output: Output, *, size: tuple[int, int], rate: Fraction) -> VideoStream:
    stream = output.add_stream("gif", rate=rate)
    assert isinstance(stream, VideoStream)
    _configure(stream.codec_context, size=size, time_base=1 / rate)
    stream.codec_context.pix_fmt = "pal8"
    return stream


def add_audio(output: Output, codec: AudioCodec, *, rate: int) -> AudioStream:
    stream = output.add_stream(AUDIO_ENCODER[codec], rate=rate)
    assert isinstance(stream, AudioStream)
    context = stream.codec_context
    context.layout = "stereo"
    context.format = av.AudioFormat("flt" if codec == "opus" else "fltp")
    context.bit_rate = AUDIO_BIT_RATE[codec]
    context.time_base = Fraction(1, rate)
    context.thread_count = THREADS
    return stream


def _configure(context: VideoCodecContext, *, size: tuple[int, int], time_base: Fraction) -> None:
    context.width, context.height = size
    context.pix_fmt = PIX_FMT
    context.time_base = time_base
    context.thread_count = THREADS
