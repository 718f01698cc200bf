"""Every encoder editroom opens, set up in one place: codec, size, time base, bounded
threads and the quality settings of codecs.py."""

from fractions import Fraction

import av
from av.audio.stream import AudioStream
from av.codec.context import CodecContext
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
) -> VideoStream:
    stream = output.add_stream(ENCODER[codec], rate=rate)
    assert isinstance(stream, VideoStream)
    _configure(stream.codec_context, size=size, time_base=time_base)
    stream.codec_context.options = dict(ENCODER_OPTIONS[codec])
    return stream


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
    context.format = av.AudioFormat("fltp" if codec == "aac" else "flt")
    context.bit_rate = AUDIO_BIT_RATE[codec]
    context.time_base = Fraction(1, rate)
    context.thread_count = THREADS
    return stream


def _configure(context: VideoCodecContext, *, size: tuple[int, int], time_base: Fraction) -> None:
    context.width, context.height = size
    context.pix_fmt = PIX_FMT
    context.time_base = time_base
    context.thread_count = THREADS
