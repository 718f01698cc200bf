"""format=jpeg|png|webp|avif|gif|tiff, with quality=1..100 for jpeg, webp and avif: how the
result is written. Without it, the result keeps the source's format (PNG when that is not one
of these). It changes no pixel, so where it stands in the edit does not matter."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import ValidationInfo, field_validator

from runner.engine.image.base import ImageOperation
from runner.engine.image.encoding import (
    DEFAULT_QUALITY,
    FORMATS,
    LOSSY_FORMATS,
    Encoding,
    ImageFormat,
)
from runner.engine.image.engine import Picture
from runner.engine.ops.base import Group
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

_DEFAULTS = ", ".join(f"{name} {quality}" for name, quality in DEFAULT_QUALITY.items())
FORMAT = Param(
    name="format", type="choice", choices=FORMATS, example="webp",
    description="The file format of the result; without it, the source's (PNG if none of these).",
)  # fmt: skip
QUALITY = Param(
    name="quality", type="integer", default=None, minimum=1, maximum=100, example="80",
    description=f"Encoder quality for {', '.join(LOSSY_FORMATS)} (default {_DEFAULTS}).",
)  # fmt: skip


class Format(ImageOperation):
    op: Literal["format"] = "format"
    name: ClassVar[str] = "format"
    once: ClassVar[bool] = True
    syntax: ClassVar[str] = (
        f"format={'|'.join(FORMATS)}, with quality=1..100 for {', '.join(LOSSY_FORMATS)} "
        f"(default {_DEFAULTS})"
    )
    description: ClassVar[str] = "How the result is written: its format and quality."
    example: ClassVar[str] = "format=webp&quality=80"
    group: ClassVar[Group] = "format"
    parameters: ClassVar[tuple[Param, ...]] = (FORMAT, QUALITY)
    format: ImageFormat = FORMAT.field()
    quality: int | None = QUALITY.field()

    @field_validator("quality")
    @classmethod
    def _lossy_only(cls, quality: int | None, info: ValidationInfo) -> int | None:
        if quality is not None and info.data.get("format") not in LOSSY_FORMATS:
            raise ValueError(f"quality applies to {', '.join(LOSSY_FORMATS)} only")
        return quality

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        format = FORMAT.read(value)
        quality = modifiers.get("quality")
        if quality is None:
            return cls(format=format)
        if format not in LOSSY_FORMATS:
            raise InvalidParameter(
                "quality", quality, f"{format} is lossless: it has no quality",
                accepted=f"quality with format={'|'.join(LOSSY_FORMATS)}",
            )  # fmt: skip
        return cls(format=format, quality=QUALITY.read(quality))

    @property
    def encoding(self) -> Encoding:
        return Encoding(self.format, self.quality)

    def apply(self, picture: Picture) -> Picture:
        return picture
