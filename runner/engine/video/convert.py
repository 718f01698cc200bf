"""format=mp4|webm|mkv|mov|gif, with vcodec=h264|hevc|vp9|av1 and acodec=aac|opus."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self, TypeVar

from pydantic import model_validator

from runner.engine.ops import grammar
from runner.engine.ops.base import MediaKind, Operation
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


class Format(Operation):
    """Change the container and, if asked, the codecs. Streams whose codec the container
    takes are copied (a remux); the others are re-encoded with the container's defaults."""

    op: Literal["format"] = "format"
    name: ClassVar[str] = "format"
    once: ClassVar[bool] = True
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    syntax: ClassVar[str] = SYNTAX
    modifiers: ClassVar[tuple[str, ...]] = ("vcodec", "acodec")
    container: Container
    vcodec: VideoCodec | None = None
    acodec: AudioCodec | None = None

    @model_validator(mode="after")
    def _container_holds_codecs(self) -> Self:
        for codec in (self.vcodec, self.acodec):
            problem = refusal(self.container, codec) if codec else None
            if problem:
                raise ValueError(problem)
        return self

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        container = grammar.choice("format", value, CONTAINERS)
        vcodec = _codec(
            "vcodec",
            modifiers,
            known=VIDEO_CODECS,
            held=ENCODABLE_VIDEO[container],
            container=container,
        )
        acodec = _codec(
            "acodec",
            modifiers,
            known=AUDIO_CODECS,
            held=ENCODABLE_AUDIO[container],
            container=container,
        )
        return cls(container=container, vcodec=vcodec, acodec=acodec)


def _codec(
    parameter: str,
    modifiers: Mapping[str, str],
    *,
    known: tuple[T, ...],
    held: tuple[T, ...],
    container: Container,
) -> T | None:
    text = modifiers.get(parameter)
    if text is None:
        return None
    codec = grammar.choice(parameter, text, known)
    if codec not in held:
        accepted = " | ".join(held) if held else f"no {parameter} with format={container}"
        raise InvalidParameter(
            parameter, text, f"format={container} cannot hold {codec}", accepted=accepted
        )
    return codec
