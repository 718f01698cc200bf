"""text=... with text_size (px), text_color and text_position: write the text on the image,
wrapped to its width inside a margin, in DejaVu Sans (or Pillow's bundled font without it).

The default size is a twentieth of the image's shorter side, the default colour white, the
default position bottom (centred). The text has a thin outline in black or white, whichever
contrasts with its colour, so it reads on any background."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from pydantic import Field, field_validator

from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture
from runner.engine.ops import grammar
from service.kernel.errors import InvalidParameter

Position = Literal[
    "top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom",
    "bottom-right",
]  # fmt: skip
# Where each position puts the text, as fractions of the room across and down.
_PLACES: dict[Position, tuple[float, float]] = {
    "top-left": (0.0, 0.0), "top": (0.5, 0.0), "top-right": (1.0, 0.0),
    "left": (0.0, 0.5), "center": (0.5, 0.5), "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0), "bottom": (0.5, 1.0), "bottom-right": (1.0, 1.0),
}  # fmt: skip
POSITIONS: tuple[Position, ...] = tuple(_PLACES)
MAX_TEXT_CHARS = 1000
MIN_SIZE_PX, MAX_SIZE_PX = 4, 2000
DEFAULT_SIZE_PER_SIDE = 1 / 20  # of the image's shorter side, when text_size is not given
MIN_DEFAULT_SIZE_PX = 10
MARGIN_PER_SIDE = 0.03  # of the image's shorter side, kept clear all round
MIN_MARGIN_PX = 2
COLOUR_SYNTAX = "#rgb, #rgba, #rrggbb, #rrggbbaa (the # may be left out) or a CSS colour name"


class Text(ImageOperation):
    op: Literal["text"] = "text"
    name: ClassVar[str] = "text"
    syntax: ClassVar[str] = (
        f"text=TEXT (1 to {MAX_TEXT_CHARS} characters), with text_size=PX, "
        f"text_color=COLOUR, text_position={'|'.join(POSITIONS)}"
    )
    modifiers: ClassVar[tuple[str, ...]] = ("text_size", "text_color", "text_position")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)
    size_px: int | None = Field(default=None, ge=MIN_SIZE_PX, le=MAX_SIZE_PX)
    color: str = "#ffffffff"  # as #rrggbbaa
    position: Position = "bottom"

    @field_validator("text")
    @classmethod
    def _something_to_write(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the text is only spaces")
        return text

    @field_validator("color")
    @classmethod
    def _a_colour(cls, text: str) -> str:
        rgba = engine.colour(text)
        if rgba is None:
            raise ValueError(f"not a colour; accepted: {COLOUR_SYNTAX}")
        return "#" + bytes(rgba).hex()

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        if not value.strip() or len(value) > MAX_TEXT_CHARS:
            accepted = f"1 to {MAX_TEXT_CHARS} characters, not only spaces"
            raise InvalidParameter("text", value[:40], "empty or too long", accepted=accepted)
        position = modifiers.get("text_position", "bottom")
        return cls(
            text=value,
            size_px=_size(modifiers.get("text_size")),
            color=_colour(modifiers.get("text_color", "white")),
            position=grammar.choice("text_position", position, POSITIONS),
        )

    def apply(self, picture: Picture) -> Picture:
        shorter = min(picture.size)
        size = self.size_px or max(MIN_DEFAULT_SIZE_PX, round(shorter * DEFAULT_SIZE_PER_SIDE))
        margin = max(MIN_MARGIN_PX, round(shorter * MARGIN_PER_SIDE))
        rgba = engine.colour(self.color)
        assert rgba is not None  # validated
        return picture.map(
            lambda frame: engine.draw_text(
                frame, self.text, size_px=size, colour=rgba, at=_PLACES[self.position],
                margin_px=margin,
            )
        )  # fmt: skip


def _colour(text: str) -> str:
    if engine.colour(text) is None:
        raise InvalidParameter("text_color", text, "not a colour", accepted=COLOUR_SYNTAX)
    return text


def _size(text: str | None) -> int | None:
    if text is None:
        return None
    return grammar.integer("text_size", text, minimum=MIN_SIZE_PX, maximum=MAX_SIZE_PX)
