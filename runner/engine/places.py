"""Places: where a thing (text, an overlay, a picture inside a larger box) goes in a room, as
every place parameter writes it, image or video: one of nine positions (`top-right`), the same
by the compass (`ne`), or a point `x:y`, fractions 0..1 of the room across and down.

A place is a pair of fractions: the thing's own point at those fractions goes to the room's
point at those fractions, so `0:0` is flush top-left, `0.5:0.5` centred, `1:1` flush
bottom-right, and `top-right` is `1:0`. Equal places are one place, written one way: a
position when one of the nine is meant, however it was written (`ne`, `1:0`), else `x:y` in
the fewest decimals, at most POINT_DECIMALS (`0.1:0.85`). Shared by the image and video
engines (which may not import each other) and read by the edit language's parameters."""

import re
from typing import Annotated, Literal

from pydantic import AfterValidator

from service.kernel.errors import InvalidParameter

Fractions = tuple[float, float]  # across and down, 0..1 of the room
Position = Literal[
    "top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom",
    "bottom-right",
]  # fmt: skip
PLACES: dict[Position, Fractions] = {
    "top-left": (0.0, 0.0), "top": (0.5, 0.0), "top-right": (1.0, 0.0),
    "left": (0.0, 0.5), "center": (0.5, 0.5), "right": (1.0, 0.5),
    "bottom-left": (0.0, 1.0), "bottom": (0.5, 1.0), "bottom-right": (1.0, 1.0),
}  # fmt: skip
POSITIONS: tuple[Position, ...] = tuple(PLACES)
# The same places by the compass (an image's gravity keeps them so: overlay_gravity=ne).
COMPASS_POSITIONS: dict[str, Position] = {
    "nw": "top-left", "n": "top", "ne": "top-right", "w": "left", "e": "right",
    "sw": "bottom-left", "s": "bottom", "se": "bottom-right",
}  # fmt: skip
POINT_SYNTAX = "x:y (fractions 0..1 of the room across and down: 0.1:0.85)"
SYNTAX = f"{', '.join(POSITIONS)} (by the compass {', '.join(COMPASS_POSITIONS)}) or {POINT_SYNTAX}"
# As an operation's syntax shows it, beside its other parameters (the compass names aside).
SHORT_SYNTAX = f"{'|'.join(POSITIONS)}|x:y"
_NAMED: dict[Fractions, Position] = {at: position for position, at in PLACES.items()}
_BY_NAME: dict[str, Fractions] = {
    **{position: at for position, at in PLACES.items()},
    **{compass: PLACES[position] for compass, position in COMPASS_POSITIONS.items()},
}
POINT_DECIMALS = 6  # a millionth of the room: under a pixel on any side shorter than 1,000,000
# The longest place read, spaces included: a point in full decimals (0.123456:0.123456) with room.
MAX_LENGTH = 32
_POINT = re.compile(r"([0-9.]+)\s*:\s*([0-9.]+)")


def read(parameter: str, text: str, *, unknown: str = "not a place", accepted: str = SYNTAX) -> str:
    """The place `text` names, written canonically (a position, else `x:y`), or a 422 naming
    `parameter` and what is `accepted` (a parameter taking more than places, an image's
    gravity, says so, and calls what it cannot read `unknown`)."""
    if len(text) > MAX_LENGTH:
        raise InvalidParameter(
            parameter, text, f"longer than {MAX_LENGTH} characters", accepted=accepted
        )
    at = _fractions(text)
    if at is None:
        raise InvalidParameter(parameter, text, unknown, accepted=accepted)
    x, y = _decimals(at[0]), _decimals(at[1])
    return _NAMED.get((float(x), float(y))) or f"{x}:{y}"


def at(place: str) -> Fractions:
    """Where `place`, a value read has accepted (a field's), puts a thing."""
    found = _fractions(place)
    if found is None:
        raise ValueError(f"{place!r} is not a place")
    return found


def _fractions(text: str) -> Fractions | None:
    """Where the place written `text`, any way, puts a thing; None when it is no place."""
    written = text.strip().lower()
    if written in _BY_NAME:
        return _BY_NAME[written]
    match = _POINT.fullmatch(written)
    if match is None:
        return None
    try:
        x, y = float(match.group(1)), float(match.group(2))
    except ValueError:  # "1.2.3", "."
        return None
    return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None


def _decimals(fraction: float) -> str:
    """A fraction in at most POINT_DECIMALS decimals, no more than it needs and never in
    exponent form (`1e-05` would not read back as a point)."""
    return f"{fraction:.{POINT_DECIMALS}f}".rstrip("0").rstrip(".")


def _kept(text: str) -> str:
    """A place field's check (JSON edits): read's rule and canonical form, refused in its words
    (pydantic names the field)."""
    try:
        return read("place", text)
    except InvalidParameter as refused:
        raise ValueError(f"{refused.problem}; accepted: {refused.accepted}") from None


# The type of a place field (text_position, overlay_gravity): any place, kept as read writes it,
# so `ne`, `top-right` and `1:0` are one edit.
Placed = Annotated[str, AfterValidator(_kept)]
