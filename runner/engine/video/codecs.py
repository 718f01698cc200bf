"""Which codecs each output container holds, the defaults when a stream must be re-encoded,
and the encoder settings editroom uses. One table, read by `format` at parse time (to refuse
what a container cannot hold) and by the planner (to decide copy or re-encode)."""

from typing import Literal

Container = Literal["mp4", "webm", "mkv", "mov", "gif"]
VideoCodec = Literal["h264", "hevc", "vp9", "av1"]
AudioCodec = Literal["aac", "opus", "mp3"]  # mp3 only for audio=extract

CONTAINERS: tuple[Container, ...] = ("mp4", "webm", "mkv", "mov", "gif")
VIDEO_CODECS: tuple[VideoCodec, ...] = ("h264", "hevc", "vp9", "av1")
AUDIO_CODECS: tuple[AudioCodec, ...] = ("aac", "opus")  # what acodec= may name

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
X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
)  # fmt: skip
SVTAV1_PRESETS = tuple(str(n) for n in range(14))  # 0 slowest and smallest, 13 fastest
ALL_PRESETS = (*X264_PRESETS, *SVTAV1_PRESETS)
# What crf=, bitrate= and preset= may ask of each encoder: the highest crf, and its presets.
MAX_CRF: dict[VideoCodec, int] = {"h264": 51, "hevc": 51, "vp9": 63, "av1": 63}
PRESETS: dict[VideoCodec, tuple[str, ...]] = {
    "h264": X264_PRESETS, "hevc": X264_PRESETS, "vp9": (), "av1": SVTAV1_PRESETS,
}  # fmt: skip
PRESETS_ACCEPTED = (
    f"for h264 and hevc: {' | '.join(X264_PRESETS)}; for av1: 0 (slowest) to 13; vp9 takes none"
)
AUDIO_ENCODER: dict[AudioCodec, str] = {"aac": "aac", "opus": "libopus", "mp3": "libmp3lame"}
# bits per second
AUDIO_BIT_RATE: dict[AudioCodec, int] = {"aac": 128_000, "opus": 96_000, "mp3": 192_000}
# audio=extract: each audio format's codec (a source in it is copied), muxer and extension.
EXTRACT_CODEC: dict[str, AudioCodec] = {"m4a": "aac", "opus": "opus", "mp3": "mp3"}
EXTRACT_MUXER: dict[str, str] = {"m4a": "ipod", "opus": "ogg", "mp3": "mp3"}
OPUS_RATE_HZ = 48_000  # the only rate libopus encodes at that every player takes
# The sample rates each audio encoder is given: those FFmpeg's aac and libmp3lame take, and for
# Opus OPUS_RATE_HZ alone. Written out, not asked of PyAV: the API reads this module.
ENCODED_RATES_HZ: dict[AudioCodec, tuple[int, ...]] = {
    "aac": (
        96_000, 88_200, 64_000, 48_000, 44_100, 32_000, 24_000, 22_050, 16_000, 12_000, 11_025,
        8_000, 7_350,
    ),
    "mp3": (44_100, 48_000, 32_000, 22_050, 24_000, 16_000, 11_025, 12_000, 8_000),
    "opus": (OPUS_RATE_HZ,),
}  # fmt: skip


def encoded_rate(codec: AudioCodec, rate: int) -> int:
    """The sample rate sound of `rate` Hz is encoded at in `codec`: its own when the encoder
    takes it, else the nearest the encoder takes (the higher of two as near), as FFmpeg
    chooses. AAC has no 192 kHz and no 4 kHz; MP3 nothing over 48 kHz."""
    rates = ENCODED_RATES_HZ[codec]
    if rate in rates:
        return rate
    return min(rates, key=lambda taken: (abs(taken - rate), -taken))


def refusal(container: Container, codec: str) -> str | None:
    """Why `container` cannot hold `codec` as asked, or None when it can."""
    if codec in ENCODABLE_VIDEO[container] or codec in ENCODABLE_AUDIO[container]:
        return None
    held = (*ENCODABLE_VIDEO[container], *ENCODABLE_AUDIO[container])
    if not held:
        return f"{container} holds only its own image codec and no audio"
    return f"{container} cannot hold {codec}"
