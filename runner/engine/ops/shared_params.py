"""Parameters the image and the video engine both take, declared here once since the two may
not import each other: the crop rectangle (and the check that it fits the picture, so both
refuse a crop in the same words), and the text's size, colour and position. What differs
between the engines (examples, the smallest side, what the text is written on) is passed in."""

from dataclasses import dataclass

from runner.engine.draw import COLOUR_SYNTAX, POSITIONS, undrawable, undrawable_reason
from runner.engine.ops import grammar
from runner.engine.ops.base import SourceFacts
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

DRAWN_CHARACTERS = (
    "characters the fonts draw (DejaVu: Latin, Greek, Cyrillic, Arabic, Hebrew, many symbols; "
    "Noto Color Emoji: emoji) and line breaks, no other control characters"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rectangle:
    """crop=x,y,w,h: the whole parameter and its four parts, in pixels."""

    whole: Param
    x: Param
    y: Param
    width: Param
    height: Param

    def read(self, value: str, *, syntax: str) -> tuple[int, int, int, int]:
        """x, y, width and height from `x,y,w,h`; a part refused names itself."""
        texts = grammar.parts(self.whole.name, value, 4, syntax=syntax)
        x, y, width, height = (
            part.read_part(text, of=self.whole.name, whole=value)
            for part, text in zip((self.x, self.y, self.width, self.height), texts, strict=True)
        )
        return x, y, width, height


Box = tuple[int, int, int, int]  # a crop's x, y, width, height, in pixels


def written_box(box: Box) -> str:
    """The rectangle as crop= writes it: `x,y,w,h`."""
    return ",".join(str(number) for number in box)


def crop_outside(box: Box, size: tuple[int, int]) -> InvalidParameter | None:
    """The refusal of a crop that reaches past an edge of a picture of `size` (width, height),
    naming the edges it passes and by how much; None when it fits. The image's and the video's
    crop both say it: as a 422 before the edit is queued, as its error when a size only known
    while running (after other operations) shows it."""
    x, y, width, height = box
    past = []
    if x + width > size[0]:
        past.append(f"the right edge (x + w = {x + width})")
    if y + height > size[1]:
        past.append(f"the bottom edge (y + h = {y + height})")
    if not past:
        return None
    return InvalidParameter(
        "crop", written_box(box),
        f"reaches past {' and '.join(past)} of the {size[0]}x{size[1]} picture",
        accepted=f"a rectangle inside it: x + w <= {size[0]} and y + h <= {size[1]}",
    )  # fmt: skip


def check_crop_fits(box: Box, facts: SourceFacts) -> None:
    """Refuse a crop past an edge of the picture as `facts` know it (unknown: not judged)."""
    if facts.width is not None and facts.height is not None:
        refusal = crop_outside(box, (facts.width, facts.height))
        if refusal is not None:
            raise refusal


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


def check_text(text: Param, value: str, family: str = "sans") -> None:
    """text=VALUE as a query writes it: 1 to text.max_length characters, not only spaces, each
    one drawn in `family` or the emoji font. Raises InvalidParameter naming what is not."""
    if not value.strip() or len(value) > (text.max_length or 0):
        accepted = f"1 to {text.max_length} characters, not only spaces"
        raise InvalidParameter("text", value, "empty or too long", accepted=accepted)
    reason = undrawn(value, family)
    if reason is not None:
        raise InvalidParameter("text", value, reason, accepted=DRAWN_CHARACTERS)


def undrawn(value: str, family: str = "sans") -> str | None:
    """Which characters of `value` would not be drawn, said for an error; None when all are."""
    missing = undrawable(value, family)
    return undrawable_reason(missing, family) if missing else None


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
