"""mute, volume=GAIN and audio=extract: what becomes of the sound."""

import re
from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

AudioFormat = Literal["m4a", "opus", "mp3"]
AUDIO_FORMATS: tuple[AudioFormat, ...] = ("m4a", "opus", "mp3")
MAX_GAIN = 4.0  # times the amplitude; +12 dB
MAX_GAIN_DB = 12.0
MIN_GAIN_DB = -60.0
_DECIBELS = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*db$")
VOLUME_SYNTAX = f"a factor from 0 to {MAX_GAIN:g} (1 unchanged) or decibels: -6dB, +3dB"
MUTE = Param(
    name="mute", type="flag", default=None, example="",
    description="No value: the result has no sound; the video is copied when it can be.",
)  # fmt: skip
VOLUME = Param(
    name="volume", type="text", max_length=12, example="0.5",
    description=f"The sound's gain: {VOLUME_SYNTAX}.",
)  # fmt: skip
AUDIO = Param(
    name="audio", type="choice", choices=("extract",), example="extract",
    description="extract: the result is the sound alone, as an audio file (audio_format).",
)  # fmt: skip
AUDIO_FORMAT = Param(
    name="audio_format", type="choice", choices=AUDIO_FORMATS, default="m4a", example="opus",
    description="m4a (AAC), opus (Ogg Opus) or mp3; a source codec the format takes is copied.",
)  # fmt: skip


class Mute(Operation):
    op: Literal["mute"] = "mute"
    name: ClassVar[str] = "mute"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = "mute (no value)"
    description: ClassVar[str] = "Drop the sound."
    example: ClassVar[str] = "mute"
    group: ClassVar[Group] = "other"
    once: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (MUTE,)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls()


class Volume(Operation):
    op: Literal["volume"] = "volume"
    name: ClassVar[str] = "volume"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = f"volume=GAIN: {VOLUME_SYNTAX}"
    description: ClassVar[str] = "Make the sound louder or quieter (re-encodes the audio)."
    example: ClassVar[str] = "volume=-6dB"
    group: ClassVar[Group] = "other"
    once: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (VOLUME,)
    gain: float = Field(ge=0, le=MAX_GAIN, description="Times the amplitude.")

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        text = value.strip().lower()
        if match := _DECIBELS.fullmatch(text):
            decibels = float(match.group(1))
            if not MIN_GAIN_DB <= decibels <= MAX_GAIN_DB:
                accepted = f"{MIN_GAIN_DB:g}dB to +{MAX_GAIN_DB:g}dB"
                raise InvalidParameter("volume", value, "out of range", accepted=accepted)
            return cls(gain=10 ** (decibels / 20))
        try:
            gain = float(text)
        except ValueError:
            raise InvalidParameter("volume", value, "not a gain", accepted=VOLUME_SYNTAX) from None
        if not 0 <= gain <= MAX_GAIN:
            raise InvalidParameter("volume", value, "out of range", accepted=VOLUME_SYNTAX)
        return cls(gain=gain)


class Audio(Operation):
    """The result is an audio file, stored as video media without a picture."""

    op: Literal["audio"] = "audio"
    name: ClassVar[str] = "audio"
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = "audio=extract, with audio_format=m4a|opus|mp3"
    description: ClassVar[str] = "Keep only the sound, as an audio file."
    example: ClassVar[str] = "audio=extract&audio_format=opus"
    group: ClassVar[Group] = "convert"
    once: ClassVar[bool] = True
    terminal: ClassVar[bool] = True
    sound_alone: ClassVar[bool] = True
    parameters: ClassVar[tuple[Param, ...]] = (AUDIO, AUDIO_FORMAT)
    action: Literal["extract"] = AUDIO.field()
    audio_format: AudioFormat = AUDIO_FORMAT.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(action=AUDIO.read(value), audio_format=AUDIO_FORMAT.modifier(modifiers))
