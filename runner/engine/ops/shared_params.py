"""Parameters the image and the video engine both take, declared here once since the two may
not import each other: the text's size, colour and position, a place, an overlay's scale and
opacity (the crop, a whole operation both take, is crop_operation.py). What differs between the
engines (text written on an image, burnt into a video's picture) is passed in."""

from runner.engine import places
from runner.engine.draw import COLOUR_SYNTAX, undrawable, undrawable_reason
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

DRAWN_CHARACTERS = (
    "characters the fonts draw (DejaVu: Latin, Greek, Cyrillic, Arabic, Hebrew, many symbols; "
    "Noto Color Emoji: emoji) and line breaks, no other control characters"
)


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


def place(name: str, *, default: str, example: str, description: str) -> Param:
    """A place parameter (text_position, overlay_gravity): a position, its compass name or an
    x:y point (runner.engine.places); GET /operations lists the nine positions as its
    choices and the compass names as their aliases."""
    return Param(
        name=name, type="place", choices=places.POSITIONS, aliases=places.COMPASS_POSITIONS,
        default=default, example=example, max_length=places.MAX_LENGTH,
        description=f"{description}: {places.SYNTAX}.",
    )  # fmt: skip


TEXT_POSITION = place(
    "text_position", default="bottom", example="0.5:0.9",
    description="Where the text goes, its lines aligned as the place is across (left, centred, "
    "right; a point's x between)",
)  # fmt: skip


def overlay_scale(*, surface: str) -> Param:
    """overlay_scale=F: the overlay's width as a share of the `surface`'s (image, picture)."""
    return Param(
        name="overlay_scale", type="number", default=None, minimum=0.01, maximum=1, example="0.2",
        description=(
            f"The overlay's width as a fraction of the {surface}'s width; by default its own "
            "size (shrunk to fit)."
        ),
    )  # fmt: skip


OVERLAY_OPACITY = Param(
    name="overlay_opacity", type="number", default=1.0, minimum=0, maximum=1, example="0.5",
    description="Multiplies the overlay's alpha: 0 invisible, 1 as it is.",
)  # fmt: skip
