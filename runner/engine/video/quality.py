"""crf=N, bitrate=RATE, preset=NAME: how a re-encoded video is encoded. Each forces the
video to be re-encoded (a copied stream has no quality to choose), and is checked against
the encoder the plan picks (codecs.QUALITY) when the edit runs."""

import re
from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, field_validator

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param
from runner.engine.video.codecs import ALL_PRESETS, PRESETS_ACCEPTED
from service.kernel.errors import InvalidParameter

MIN_BIT_RATE = 50_000  # bits per second: below this no encoder here makes a picture
MAX_BIT_RATE = 100_000_000
_RATE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")
_UNIT = {"": 1, "k": 1_000, "m": 1_000_000}
BITRATE_SYNTAX = "bits per second: 2500000, 2500k or 2.5M (50k to 100M)"
CRF = Param(
    name="crf", type="integer", minimum=0, maximum=63, example="23",
    description=(
        "Constant quality, lower is better: 0 to 51 for h264 and hevc, 0 to 63 for vp9 and av1."
    ),
)  # fmt: skip
BITRATE = Param(
    name="bitrate", type="text", max_length=12, example="2500k",
    description=f"A target average bit rate instead of a constant quality: {BITRATE_SYNTAX}.",
)  # fmt: skip
PRESET = Param(
    name="preset", type="choice", choices=ALL_PRESETS, example="slow",
    description=(
        "Speed against size: ultrafast to veryslow for h264 and hevc, 0 (slowest) to 13 "
        "for av1; vp9 takes none."
    ),
)  # fmt: skip


class _Quality(Operation):
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    group: ClassVar[Group] = "convert"
    once: ClassVar[bool] = True


class Crf(_Quality):
    op: Literal["crf"] = "crf"
    name: ClassVar[str] = "crf"
    syntax: ClassVar[str] = "crf=N: 0 to 51 (h264, hevc) or 0 to 63 (vp9, av1), lower is better"
    description: ClassVar[str] = "Re-encode the video at this constant quality."
    example: ClassVar[str] = "crf=28"
    parameters: ClassVar[tuple[Param, ...]] = (CRF,)
    crf: int = CRF.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        return cls(crf=CRF.read(value))


class Bitrate(_Quality):
    op: Literal["bitrate"] = "bitrate"
    name: ClassVar[str] = "bitrate"
    syntax: ClassVar[str] = f"bitrate=RATE in {BITRATE_SYNTAX}"
    description: ClassVar[str] = "Re-encode the video at this average bit rate."
    example: ClassVar[str] = "bitrate=2500k"
    parameters: ClassVar[tuple[Param, ...]] = (BITRATE,)
    bits_per_second: int = Field(ge=MIN_BIT_RATE, le=MAX_BIT_RATE, description=BITRATE.description)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        match = _RATE.fullmatch(value.strip().lower())
        if match is None:
            raise InvalidParameter("bitrate", value, "not a bit rate", accepted=BITRATE_SYNTAX)
        rate = float(match.group(1)) * _UNIT[match.group(2)]  # too many digits: infinity
        if not MIN_BIT_RATE <= rate <= MAX_BIT_RATE:
            raise InvalidParameter("bitrate", value, "out of range", accepted=BITRATE_SYNTAX)
        return cls(bits_per_second=round(rate))


class Preset(_Quality):
    op: Literal["preset"] = "preset"
    name: ClassVar[str] = "preset"
    syntax: ClassVar[str] = "preset=ultrafast..veryslow (h264, hevc) or preset=0..13 (av1)"
    description: ClassVar[str] = "Re-encode the video with this encoder preset."
    example: ClassVar[str] = "preset=slow"
    parameters: ClassVar[tuple[Param, ...]] = (PRESET,)
    preset: str = PRESET.field()

    @field_validator("preset")
    @classmethod
    def _known(cls, preset: str) -> str:
        if preset not in ALL_PRESETS:
            raise ValueError(f"not a preset; accepted: {PRESETS_ACCEPTED}")
        return preset

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        """Which encoder is used is known only once the plan is made (when the edit runs, and
        checked then): a refusal here says which presets are whose."""
        preset = value.strip().lower()
        if preset not in ALL_PRESETS:
            raise InvalidParameter(
                "preset", value, "not a preset of any encoder", accepted=PRESETS_ACCEPTED
            )
        return cls(preset=preset)
