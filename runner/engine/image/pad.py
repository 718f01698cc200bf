"""pad=ALL, pad=VERTICAL,HORIZONTAL or pad=TOP,RIGHT,BOTTOM,LEFT (pixels, in CSS's order), with
pad_color: a border added around the image in one colour (white by default; 0000 is
transparent). For letterboxing into a fixed box, resize with fit=pad."""

from collections.abc import Mapping
from typing import ClassVar, Literal, Self

from runner.engine.draw import COLOUR_SYNTAX
from runner.engine.image import engine
from runner.engine.image.base import ImageOperation
from runner.engine.image.engine import Picture, Size
from runner.engine.ops.base import Group, Limits
from runner.engine.ops.params import HexColour, Param
from service.kernel.errors import InvalidParameter

SYNTAX = "pad=ALL, pad=VERTICAL,HORIZONTAL or pad=TOP,RIGHT,BOTTOM,LEFT (pixels)"
_SIDE = Param(
    name="side", type="integer", minimum=0, limit="max_output_side", example="10",
    description="The border's width on that side, in pixels.",
)  # fmt: skip
PAD = Param(
    name="pad", type="list", parts=(_SIDE,), max_length=4, example="10,20",
    description=(
        "The border in pixels: one value for every side, two for top and bottom then left "
        "and right, or four for top, right, bottom, left."
    ),
)  # fmt: skip
PAD_COLOR = Param(
    name="pad_color", type="colour", default="white", example="%23000000",
    description=f"The border's colour: {COLOUR_SYNTAX}; 0000 is transparent.",
)  # fmt: skip


class Pad(ImageOperation):
    op: Literal["pad"] = "pad"
    name: ClassVar[str] = "pad"
    syntax: ClassVar[str] = f"{SYNTAX}, with pad_color=COLOUR"
    description: ClassVar[str] = "Add a border of one colour around the image."
    example: ClassVar[str] = "pad=10&pad_color=%23000000"
    group: ClassVar[Group] = "geometry"
    parameters: ClassVar[tuple[Param, ...]] = (PAD, PAD_COLOR)
    top: int = _SIDE.field()
    right: int = _SIDE.field()
    bottom: int = _SIDE.field()
    left: int = _SIDE.field()
    color: HexColour = PAD_COLOR.field(validate_default=True)

    @classmethod
    def from_query(cls, value: str, modifiers: Mapping[str, str]) -> Self:
        pieces = [piece.strip() for piece in value.split(",")]
        if len(pieces) not in (1, 2, 4) or not all(pieces):
            raise InvalidParameter("pad", value, "needs 1, 2 or 4 values", accepted=SYNTAX)
        sides = [_SIDE.read_part(piece, of="pad", whole=value) for piece in pieces]
        top, right, bottom, left = (sides * 2)[:4] if len(sides) == 2 else (sides * 4)[:4]
        colour = PAD_COLOR.modifier(modifiers)
        return cls(top=top, right=right, bottom=bottom, left=left, color=colour)

    def query_items(self) -> list[tuple[str, str]]:
        """The fewest values that read back as these sides (4, 2 or 1), and the colour unless
        it is the default."""
        sides = [self.top, self.right, self.bottom, self.left]
        written = (
            sides[:1] if len(set(sides)) == 1 else sides[:2] if sides == sides[:2] * 2 else sides
        )
        items = [(PAD.name, ",".join(map(str, written)))]
        if not PAD_COLOR.is_default([self.color]):
            items.append((PAD_COLOR.name, PAD_COLOR.write([self.color])))
        return items

    def check_limits(self, limits: Limits) -> None:
        if max(self.left + self.right, self.top + self.bottom) > limits.max_output_side:
            raise InvalidParameter(
                "pad", f"{self.top},{self.right},{self.bottom},{self.left}",
                "a border wider than any result may be",
                accepted=f"borders adding up to at most {limits.max_output_side} px a direction",
            )  # fmt: skip

    def output_size(self, size: Size) -> Size:
        return size[0] + self.left + self.right, size[1] + self.top + self.bottom

    def apply(self, picture: Picture) -> Picture:
        size = self.output_size(picture.size)
        rgba = engine.colour(self.color)
        assert rgba is not None  # validated
        return picture.map(
            lambda frame: engine.on_canvas(frame, size, at=(self.left, self.top), background=rgba)
        )
