"""format=mp4|webm|mkv|mov|gif, with vcodec=h264|hevc|vp9|av1 and acodec=aac|opus."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self, TypeVar

from pydantic import model_validator

from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import Param
from runner.engine.video.codecs import (
    AUDIO_CODECS,
    CONTAINERS,
    ENCODABLE_AUDIO,
    ENCODABLE_VIDEO,
    VIDEO_CODECS,
    AudioCodec,
    Container,
    VideoCodec,
    refusal,
)
from service.kernel.errors import InvalidParameter

T = TypeVar("T", bound=str)

SYNTAX = "format=mp4|webm|mkv|mov|gif, with vcodec=h264|hevc|vp9|av1 and acodec=aac|opus"
FORMAT = Param(
    name="format", type="choice", choices=CONTAINERS, default=None, example="webm",
    description="The container of the result; streams it takes are copied, not re-encoded. "
    "Without it (vcodec or acodec alone), the source's container.",
)  # fmt: skip
VCODEC = Param(
    name="vcodec", type="choice", choices=VIDEO_CODECS, default=None, example="vp9",
    description="Re-encode the video with this codec (one the container holds).",
)  # fmt: skip
ACODEC = Param(
    name="acodec", type="choice", choices=AUDIO_CODECS, default=None, example="opus",
    description="Re-encode the audio with this codec (one the container holds).",
)  # fmt: skip


class Format(Operation):
    """Change the container and, if asked, the codecs. Streams whose codec the container
    takes are copied (a remux); the others are re-encoded with the container's defaults.
    vcodec or acodec without format keeps the source's container (container None): whether
    it holds the codec is known once the source is read."""

    op: Literal["format"] = "format"
    name: ClassVar[str] = "format"
    once: ClassVar[bool] = True
    implied: ClassVar[bool] = True
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    syntax: ClassVar[str] = SYNTAX
    description: ClassVar[str] = "Change the container and, if asked, the codecs."
    example: ClassVar[str] = "format=webm&vcodec=vp9&acodec=opus"
    group: ClassVar[Group] = "convert"
    parameters: ClassVar[tuple[Param, ...]] = (FORMAT, VCODEC, ACODEC)
    container: Container | None = FORMAT.field()
    vcodec: VideoCodec | None = VCODEC.field()
    acodec: AudioCodec | None = ACODEC.field()

    @model_validator(mode="after")
    def _container_holds_codecs(self) -> Self:
        if self.container is None:
            if self.vcodec is None and self.acodec is None:
                raise ValueError("give the container, or a codec to re-encode with")
            return self
        for codec in (self.vcodec, self.acodec):
            problem = refusal(self.container, codec) if codec else None
            if problem:
                raise ValueError(problem)
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        container: Container = FORMAT.read(value)
        vcodec = _codec(VCODEC, modifiers, held=ENCODABLE_VIDEO[container], container=container)
        acodec = _codec(ACODEC, modifiers, held=ENCODABLE_AUDIO[container], container=container)
        return cls(container=container, vcodec=vcodec, acodec=acodec)

    @classmethod
    def from_modifiers(cls, modifiers: Mapping[str, str]) -> Self:
        return cls(vcodec=VCODEC.modifier(modifiers), acodec=ACODEC.modifier(modifiers))


def _codec(
    parameter: Param, modifiers: Mapping[str, str], *, held: tuple[T, ...], container: Container
) -> T | None:
    codec: T | None = parameter.modifier(modifiers)
    if codec is None:
        return None
    if codec not in held:
        text = modifiers[parameter.name]
        accepted = " | ".join(held) if held else f"no {parameter.name} with format={container}"
        raise InvalidParameter(
            parameter.name, text, f"format={container} cannot hold {codec}", accepted=accepted
        )
    return codec
