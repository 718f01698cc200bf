"""text=... with text_size (px), text_color and text_position: write the text on the image,
wrapped to its width inside a margin, in DejaVu Sans, Serif or Sans Mono (or Pillow's bundled
font without them), with emoji in colour from Noto Color Emoji.

The default size is a twentieth of the image's shorter side, the default colour white, the
default position bottom (centred); a position may be any place (runner.engine.places), an x:y
point too. The text has a thin outline in black or white, whichever
contrasts with its colour, so it reads on any background."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import field_validator, model_validator

from runner.engine import draw, places
from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture
from runner.engine.ops import shared_params
from runner.engine.ops.base import Group
from runner.engine.ops.params import HexColour, Param
from runner.engine.places import Placed

TEXT = shared_params.text(doing="write", surface="image")
TEXT_SIZE = shared_params.text_size(surface="image")
TEXT_COLOR, TEXT_POSITION = shared_params.TEXT_COLOR, shared_params.TEXT_POSITION
FAMILIES = tuple(engine.TEXT_FONT_FILES)
TEXT_FONT = Param(
    name="text_font", type="choice", choices=FAMILIES, default="sans", example="serif",
    description="The font: sans (DejaVu Sans), serif (DejaVu Serif) or mono (DejaVu Sans Mono).",
)  # fmt: skip


class Text(ImageOperation):
    op: Literal["text"] = "text"
    name: ClassVar[str] = "text"
    syntax: ClassVar[str] = (
        f"text=TEXT (1 to {TEXT.max_length} characters), with text_size=PX, "
        f"text_color=COLOUR, text_position={places.SHORT_SYNTAX}, "
        f"text_font={'|'.join(FAMILIES)}"
    )
    description: ClassVar[str] = "Write text on the image, outlined so it reads on any background."
    example: ClassVar[str] = "text=Hello&text_size=48&text_color=%23ffcc00&text_position=top"
    group: ClassVar[Group] = "text"
    parameters: ClassVar[tuple[Param, ...]] = (
        TEXT, TEXT_SIZE, TEXT_COLOR, TEXT_POSITION, TEXT_FONT,
    )  # fmt: skip
    text: str = TEXT.field()
    size_px: int | None = TEXT_SIZE.field()
    color: HexColour = TEXT_COLOR.field(validate_default=True)
    position: Placed = TEXT_POSITION.field()
    font: Literal["sans", "serif", "mono"] = TEXT_FONT.field()

    @model_validator(mode="after")
    def _every_character_drawable(self) -> Self:
        reason = shared_params.undrawn(self.text, self.font)
        if reason is not None:
            raise ValueError(reason)
        return self

    @field_validator("text")
    @classmethod
    def _something_to_write(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the text is only spaces")
        return text

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        family = TEXT_FONT.modifier(modifiers)
        shared_params.check_text(TEXT, value, family)
        return cls(
            text=value,
            size_px=TEXT_SIZE.modifier(modifiers),
            color=TEXT_COLOR.modifier(modifiers),
            position=TEXT_POSITION.modifier(modifiers),
            font=family,
        )

    def apply(self, picture: Picture) -> Picture:
        size = self.size_px or draw.default_text_size_px(picture.size)
        margin = draw.margin_px(picture.size)
        rgba = engine.colour(self.color)
        assert rgba is not None  # validated
        # Laid out and drawn once: an animation's frames are all of the picture's size.
        layer = engine.text_layer(
            picture.size, self.text, size_px=size, colour=rgba, at=places.at(self.position),
            margin_px=margin, family=self.font,
        )  # fmt: skip
        return picture.map(lambda frame: engine.composited(frame, layer))
