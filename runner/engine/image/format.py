"""format=jpeg|png|webp|avif|gif|tiff|auto, with quality=1..100|auto for jpeg, webp and avif:
how the result is written. Without it, the result keeps the source's format (PNG when that is
not one of these). It changes no pixel, so where it stands in the edit does not matter.

format=auto is resolved when the edit is asked for (POST /edit), from the request's Accept
header: AVIF if it names image/avif, else WebP if it names image/webp, else JPEG (written as
PNG when the result has alpha). The edit records the concrete format with auto: true, so the
runner, and the same edit asked again, see a concrete format. Written back as a query (the
edit's `query`, its result's address) it is format=auto again, as it was asked for: the address
chooses again from its own request's Accept, so a client that sent the same Accept finds this
very edit, and one that sent another gets the format it takes (the answer says Vary: Accept).
A workflow saved with format=auto and run later resolves it as if nothing were accepted (JPEG,
or PNG with alpha). quality=auto is chosen while writing (runner.engine.image.encoding)."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, field_validator

from runner.engine.image import encoding, engine
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
AUTO: Literal["auto"] = "auto"
FORMAT = Param(
    name="format", type="choice", choices=(*FORMATS, AUTO), example="webp",
    description=(
        "The file format of the result; without it, the source's (PNG if none of these). auto: "
        "AVIF, WebP or JPEG (PNG with alpha), whichever the request's Accept header allows."
    ),
)  # fmt: skip
QUALITY = Param(
    name="quality", type="text", default=None, max_length=4, example="80",
    description=(
        f"Encoder quality 1..100 for {', '.join(LOSSY_FORMATS)} (default {_DEFAULTS}); auto: "
        f"the smallest file whose SSIM against the image stays at least "
        f"{encoding.SSIM_TARGET:g}."
    ),
)  # fmt: skip
_QUALITY_NUMBER = Param(
    name="quality", type="integer", minimum=1, maximum=100, example="80",
    description="Encoder quality.",
)  # fmt: skip
_ACCEPTED_IN_ORDER: tuple[ImageFormat, ...] = ("avif", "webp")


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
    format: ImageFormat | Literal["auto"] = FORMAT.field()
    # 1..100 or auto: one Param (text), the number's bounds those of _QUALITY_NUMBER.
    quality: int | Literal["auto"] | None = Field(default=None, description=QUALITY.description)
    auto: bool = False  # the format was format=auto, resolved from an Accept header

    @field_validator("quality")
    @classmethod
    def _lossy_only(cls, quality: int | str | None, info: ValidationInfo) -> int | str | None:
        format = info.data.get("format")
        if quality is not None and format not in (*LOSSY_FORMATS, AUTO):
            raise ValueError(f"quality applies to {', '.join(LOSSY_FORMATS)} only")
        if isinstance(quality, int) and not 1 <= quality <= 100:
            raise ValueError("quality runs from 1 to 100, or auto")
        return quality

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        format = FORMAT.read(value)
        quality = modifiers.get("quality")
        if quality is None:
            return cls(format=format)
        if format not in (*LOSSY_FORMATS, AUTO):
            raise InvalidParameter(
                "quality", quality, f"{format} is lossless: it has no quality",
                accepted=f"quality with format={'|'.join(LOSSY_FORMATS)}|auto",
            )  # fmt: skip
        if quality.strip().lower() == AUTO:
            return cls(format=format, quality=AUTO)
        return cls(format=format, quality=_QUALITY_NUMBER.read(quality))

    def query_items(self) -> list[tuple[str, str]]:
        """As asked for: a format that format=auto chose is written `auto` (see above)."""
        items = super().query_items()
        if not self.auto:
            return items
        return [(name, AUTO if name == "format" else value) for name, value in items]

    def resolved(self, accept: str) -> "Format":
        """format=auto made concrete for a request that sent `accept`; any other as it is."""
        if self.format != AUTO:
            return self
        format = chosen_format(accept)
        quality = self.quality if format in LOSSY_FORMATS else None
        return self.model_copy(update={"format": format, "quality": quality, "auto": True})

    def encoding_for(self, picture: Picture) -> Encoding:
        """How the runner writes `picture`: format=auto not resolved (a workflow's) is as if
        nothing were accepted; JPEG chosen by auto becomes PNG when there is alpha."""
        format = chosen_format("") if self.format == AUTO else self.format
        auto = self.auto or self.format == AUTO
        if auto and format == "jpeg" and engine.has_alpha(picture.first):
            return Encoding("png")  # JPEG would lose the transparency
        return Encoding(format, self.quality)

    def apply(self, picture: Picture) -> Picture:
        return picture


def chosen_format(accept: str) -> ImageFormat:
    """AVIF, then WebP, if the Accept header names it with a q above 0; else JPEG. Wildcards
    (image/*, */*) do not count: browsers name the formats they decode."""
    named = set()
    for item in accept.lower().split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        weights = [p.removeprefix("q=") for p in params if p.startswith("q=")]
        try:
            weight = float(weights[0]) if weights else 1.0
        except ValueError:
            weight = 0.0
        if weight > 0:
            named.add(media_type)
    for format in _ACCEPTED_IN_ORDER:
        if f"image/{format}" in named:
            return format
    return "jpeg"
