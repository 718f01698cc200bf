"""Which codecs each output container holds, the defaults when a stream must be re-encoded,
and the encoder settings editroom uses. One table, read by `format` at parse time (to refuse
what a container cannot hold) and by the planner (to decide copy or re-encode)."""

from typing import Literal

Container = Literal["mp4", "webm", "mkv", "mov", "gif"]
VideoCodec = Literal["h264", "hevc", "vp9", "av1"]
AudioCodec = Literal["aac", "opus"]

CONTAINERS: tuple[Container, ...] = ("mp4", "webm", "mkv", "mov", "gif")
VIDEO_CODECS: tuple[VideoCodec, ...] = ("h264", "hevc", "vp9", "av1")
AUDIO_CODECS: tuple[AudioCodec, ...] = ("aac", "opus")

# What may be asked for with vcodec/acodec, per container.
ENCODABLE_VIDEO: dict[Container, tuple[VideoCodec, ...]] = {
    "mp4": ("h264", "hevc", "vp9", "av1"),
    "mov": ("h264", "hevc"),
    "webm": ("vp9", "av1"),
    "mkv": ("h264", "hevc", "vp9", "av1"),
    "gif": (),
}
ENCODABLE_AUDIO: dict[Container, tuple[AudioCodec, ...]] = {
    "mp4": ("aac", "opus"),
    "mov": ("aac",),
    "webm": ("opus",),
    "mkv": ("aac", "opus"),
    "gif": (),
}
# What a container takes as a copied stream (FFmpeg decoder names of the source's codec).
COPYABLE: dict[Container, frozenset[str]] = {
    "mp4": frozenset({"h264", "hevc", "vp9", "av1", "mpeg4", "aac", "opus", "mp3", "alac", "flac"}),
    "mov": frozenset({"h264", "hevc", "mpeg4", "prores", "mjpeg", "aac", "mp3", "alac"}),
    "webm": frozenset({"vp8", "vp9", "av1", "opus", "vorbis"}),
    "mkv": frozenset(
        {"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "prores", "mjpeg"}
        | {"aac", "opus", "vorbis", "mp3", "flac", "alac", "ac3", "eac3", "pcm_s16le"}
    ),
    "gif": frozenset(),
}
DEFAULT_VIDEO: dict[Container, VideoCodec] = {
    "mp4": "h264", "mov": "h264", "webm": "vp9", "mkv": "h264", "gif": "h264",
}  # fmt: skip
DEFAULT_AUDIO: dict[Container, AudioCodec] = {
    "mp4": "aac", "mov": "aac", "webm": "opus", "mkv": "aac", "gif": "aac",
}  # fmt: skip
MUXER: dict[Container, str] = {
    "mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska", "gif": "gif",
}  # fmt: skip
FASTSTART: frozenset[Container] = frozenset({"mp4", "mov"})

THREADS = 2  # per decoder and per encoder: one edit must not take every core
ENCODER: dict[VideoCodec, str] = {
    "h264": "libx264", "hevc": "libx265", "vp9": "libvpx-vp9", "av1": "libsvtav1",
}  # fmt: skip
ENCODER_OPTIONS: dict[VideoCodec, dict[str, str]] = {
    "h264": {"preset": "veryfast", "crf": "21"},
    "hevc": {"preset": "veryfast", "crf": "25", "x265-params": "log-level=error:pools=2"},
    "vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "33", "b": "0", "row-mt": "1"},
    "av1": {"preset": "10", "crf": "35", "svtav1-params": "lp=2"},
}
AUDIO_ENCODER: dict[AudioCodec, str] = {"aac": "aac", "opus": "libopus"}
AUDIO_BIT_RATE: dict[AudioCodec, int] = {"aac": 128_000, "opus": 96_000}  # bits per second
OPUS_RATE_HZ = 48_000  # the only rate libopus encodes at that every player takes


def refusal(container: Container, codec: str) -> str | None:
    """Why `container` cannot hold `codec` as asked, or None when it can."""
    if codec in ENCODABLE_VIDEO[container] or codec in ENCODABLE_AUDIO[container]:
        return None
    held = (*ENCODABLE_VIDEO[container], *ENCODABLE_AUDIO[container])
    if not held:
        return f"{container} holds only its own image codec and no audio"
    return f"{container} cannot hold {codec}"
