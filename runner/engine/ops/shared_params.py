"""Parameters the image and the video engine both take, declared here once since the two may
not import each other: the crop rectangle, and the text's size, colour and position. What
differs between the engines (examples, the smallest side, what the text is written on) is
passed in."""

from dataclasses import dataclass

from runner.engine.draw import COLOUR_SYNTAX, POSITIONS
from runner.engine.ops.params import Param


@dataclass(frozen=True, slots=True, kw_only=True)
class Rectangle:
    """crop=x,y,w,h: the whole parameter and its four parts, in pixels."""

    whole: Param
    x: Param
    y: Param
    width: Param
    height: Param


def rectangle(*, example: tuple[int, int, int, int], min_side: int, description: str) -> Rectangle:
    """The crop rectangle, with sides of at least `min_side` pixels."""
    x, y = (
        Param(name=name, type="integer", minimum=0, description=text, example=str(value))
        for name, text, value in (
            ("x", "Left edge of the rectangle, in pixels from the left.", example[0]),
            ("y", "Top edge of the rectangle, in pixels from the top.", example[1]),
        )
    )
    width, height = (
        Param(
            name=name, type="integer", minimum=min_side, limit="max_output_side",
            example=str(value), description=f"{name.capitalize()} of the rectangle, in pixels.",
        )
        for name, value in (("width", example[2]), ("height", example[3]))
    )  # fmt: skip
    whole = Param(
        name="crop", type="box", parts=(x, y, width, height),
        example=",".join(str(value) for value in example), description=description,
    )  # fmt: skip
    return Rectangle(whole=whole, x=x, y=y, width=width, height=height)


def text(*, doing: str, surface: str) -> Param:
    """text=...: the text to `doing` (write, burn in), wrapped to the `surface`'s width."""
    return Param(
        name="text", type="text", max_length=1000, example="Hello",
        description=f"The text to {doing}, wrapped to the {surface}'s width.",
    )  # fmt: skip


def text_size(*, surface: str) -> Param:
    return Param(
        name="text_size", type="integer", default=None, minimum=4, maximum=2000, example="48",
        description=f"Font size in pixels; by default a twentieth of the {surface}'s shorter side.",
    )  # fmt: skip


TEXT_COLOR = Param(
    name="text_color", type="colour", default="white", example="#ffcc00",
    description=f"The text's colour: {COLOUR_SYNTAX}.",
)  # fmt: skip
TEXT_POSITION = Param(
    name="text_position", type="choice", choices=POSITIONS, default="bottom", example="top-left",
    description="Where the text goes; centred across at top, center and bottom.",
)  # fmt: skip
