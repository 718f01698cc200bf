"""text=... and overlay=MEDIA_ID: text or an image burned into the picture, from one time to
another on the result's timeline (the whole video by default). Text is drawn as the image
operation draws it (runner.engine.draw); an image is shown at its own size or at
overlay_scale times the picture's width (shrunk to fit inside the margins either way), at a
place (runner.engine.places: a position or an x:y point), with an opacity. Both force the
video to be re-encoded."""

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, Literal, Self
from uuid import UUID

from PIL import Image, UnidentifiedImageError
from pydantic import field_validator, model_validator

from runner.engine import draw, places
from runner.engine.draw import Size
from runner.engine.ops import shared_params
from runner.engine.ops.base import Group, MediaKind, Operation
from runner.engine.ops.params import HexColour, Param
from runner.engine.places import Placed
from service.kernel.errors import EditFailed, InvalidParameter

TEXT = shared_params.text(doing="burn in", surface="picture")
TEXT_SIZE = shared_params.text_size(surface="picture")
TEXT_COLOR, TEXT_POSITION = shared_params.TEXT_COLOR, shared_params.TEXT_POSITION
OVERLAY = Param(
    name="overlay", type="uuid", example="0f8fad5b-d9cb-469f-a165-70867728950e",
    description="The id of an image media to show over the picture (PNG with alpha works).",
)  # fmt: skip
OVERLAY_GRAVITY = shared_params.place(
    "overlay_gravity", default="bottom-right", example="0.1:0.85",
    description="Where the image goes, inside a margin",
)  # fmt: skip
OVERLAY_SCALE = shared_params.overlay_scale(surface="picture")
OVERLAY_OPACITY = shared_params.OVERLAY_OPACITY


def _times(prefix: str) -> tuple[Param, Param]:
    return (
        Param(
            name=f"{prefix}_from", type="time", default=0.0, minimum=0, example="1.5",
            description="When it appears, in seconds of the result.",
        ),
        Param(
            name=f"{prefix}_to", type="time", default=None, minimum=0, example="4",
            description="When it goes, after the _from time; left out, at the end.",
        ),
    )  # fmt: skip


TEXT_FROM, TEXT_TO = _times("text")
OVERLAY_FROM, OVERLAY_TO = _times("overlay")


class _Mark(Operation):
    kind: ClassVar[MediaKind] = MediaKind.VIDEO
    keeps_duration: ClassVar[bool] = True
    start: float
    end: float | None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end is not None and self.end <= self.start:
            raise ValueError("the _to time must come after the _from time")
        return self

    def layer(self, size: Size, images: Mapping[UUID, Path]) -> Image.Image:
        """A transparent RGBA layer of `size` to composite over frames."""
        raise NotImplementedError


def _read_times(fields: tuple[Param, Param], m: Mapping[str, str]) -> tuple[float, float | None]:
    start, end = (param.modifier(m) for param in fields)
    if end is not None and end <= start:
        raise InvalidParameter(
            fields[1].name, m[fields[1].name], f"must come after {fields[0].name}",
            accepted=f"a time after {start:g} s",
        )  # fmt: skip
    return start, end


class Text(_Mark):
    op: Literal["text"] = "text"
    name: ClassVar[str] = "text"
    syntax: ClassVar[str] = (
        f"text=TEXT (1 to {TEXT.max_length} characters), with text_from=S, text_to=S, "
        f"text_size=PX, text_color=COLOUR, text_position={places.SHORT_SYNTAX}"
    )
    description: ClassVar[str] = "Burn text into the picture, for the whole video or a time range."
    example: ClassVar[str] = "text=Hello&text_from=1&text_to=3&text_position=top"
    group: ClassVar[Group] = "text"
    parameters: ClassVar[tuple[Param, ...]] = (
        TEXT, TEXT_FROM, TEXT_TO, TEXT_SIZE, TEXT_COLOR, TEXT_POSITION,
    )  # fmt: skip
    text: str = TEXT.field()
    start: float = TEXT_FROM.field()
    end: float | None = TEXT_TO.field()
    size_px: int | None = TEXT_SIZE.field()
    color: HexColour = TEXT_COLOR.field(validate_default=True)
    position: Placed = TEXT_POSITION.field()

    @field_validator("text")
    @classmethod
    def _something_to_write(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the text is only spaces")
        reason = shared_params.undrawn(text)
        if reason is not None:
            raise ValueError(reason)
        return text

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        shared_params.check_text(TEXT, value)
        colour = TEXT_COLOR.modifier(modifiers)
        start, end = _read_times((TEXT_FROM, TEXT_TO), modifiers)
        return cls(
            text=value, start=start, end=end,
            size_px=TEXT_SIZE.modifier(modifiers), color=colour,
            position=TEXT_POSITION.modifier(modifiers),
        )  # fmt: skip

    def layer(self, size: Size, images: Mapping[UUID, Path]) -> Image.Image:
        size_px = self.size_px or draw.default_text_size_px(size)
        rgba = draw.colour(self.color)
        assert rgba is not None  # validated
        return draw.text_layer(
            size, self.text, size_px=size_px, colour=rgba, at=places.at(self.position),
            margin_px=draw.margin_px(size),
        )  # fmt: skip


class Overlay(_Mark):
    op: Literal["overlay"] = "overlay"
    name: ClassVar[str] = "overlay"
    syntax: ClassVar[str] = (
        f"overlay=MEDIA_ID (an image), with overlay_from=S, overlay_to=S, "
        f"overlay_gravity={places.SHORT_SYNTAX}, overlay_scale=0.01..1, overlay_opacity=0..1"
    )
    description: ClassVar[str] = "Show an image (a logo) over the picture, for a time range."
    example: ClassVar[str] = (
        "overlay=0f8fad5b-d9cb-469f-a165-70867728950e&overlay_gravity=top-right"
        "&overlay_scale=0.2&overlay_opacity=0.7"
    )
    group: ClassVar[Group] = "text"
    references: ClassVar[MediaKind | None] = MediaKind.IMAGE
    parameters: ClassVar[tuple[Param, ...]] = (
        OVERLAY, OVERLAY_FROM, OVERLAY_TO, OVERLAY_GRAVITY, OVERLAY_SCALE, OVERLAY_OPACITY,
    )  # fmt: skip
    media: UUID = OVERLAY.field()
    start: float = OVERLAY_FROM.field()
    end: float | None = OVERLAY_TO.field()
    gravity: Placed = OVERLAY_GRAVITY.field()
    scale: float | None = OVERLAY_SCALE.field()
    opacity: float = OVERLAY_OPACITY.field()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        try:
            media = UUID(value.strip())
        except ValueError:
            problem = "not a media id"
            raise InvalidParameter("overlay", value, problem, accepted=cls.syntax) from None
        start, end = _read_times((OVERLAY_FROM, OVERLAY_TO), modifiers)
        return cls(
            media=media, start=start, end=end,
            gravity=OVERLAY_GRAVITY.modifier(modifiers),
            scale=OVERLAY_SCALE.modifier(modifiers),
            opacity=OVERLAY_OPACITY.modifier(modifiers),
        )  # fmt: skip

    def media_references(self) -> tuple[UUID, ...]:
        return (self.media,)

    def layer(self, size: Size, images: Mapping[UUID, Path]) -> Image.Image:
        if self.media not in images:
            raise EditFailed(f"overlay: image {self.media} was not provided")
        picture = _image(images[self.media])
        margin = draw.margin_px(size)
        room = (size[0] - 2 * margin, size[1] - 2 * margin)
        if self.scale is not None:
            width = max(1, round(size[0] * self.scale))
            height = max(1, round(picture.height * width / picture.width))
            picture = picture.resize((width, height), Image.Resampling.LANCZOS)
        picture.thumbnail(room)  # shrunk to fit inside the margins
        layer = Image.new("RGBA", size)
        corner = draw.placed(picture.size, size, at=places.at(self.gravity), margin_px=margin)
        layer.paste(picture, corner)
        return draw.faded(layer, self.opacity)


def _image(path: Path) -> Image.Image:
    try:
        with Image.open(path) as image:
            image.seek(0)
            return image.convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        raise EditFailed(f"overlay: {path.name} is not an image ({exc})") from None


Mark = Text | Overlay
