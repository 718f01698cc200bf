"""Reading query-string values. Each reader names the parameter and says what is accepted
when it refuses a value, so every operation's errors read the same way."""

import math
import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from runner.engine import draw
from service.kernel.errors import InvalidParameter

T = TypeVar("T", bound=str)

# Digits an integer may have, leading zeros aside: more than any bound here needs, far fewer
# than the 4300 past which Python's int() raises. A longer integer is refused as out of range.
MAX_DIGITS = 18
_INTEGER = re.compile(r"[+-]?\d+")
_TIME = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$")
_SIZE = re.compile(r"^(\d*)x(\d*)$")


def integer(
    parameter: str, text: str, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    accepted = range_text("an integer", minimum, maximum)
    if _INTEGER.fullmatch(text.strip()) is None:
        raise InvalidParameter(parameter, text, "not an integer", accepted=accepted)
    number = _int_of_digits(parameter, text, text.strip(), accepted=accepted)
    _check_range(parameter, text, number, minimum, maximum, accepted)
    return number


def number(
    parameter: str, text: str, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    accepted = range_text("a number", minimum, maximum)
    try:
        value = float(text.strip())
    except ValueError:
        raise InvalidParameter(parameter, text, "not a number", accepted=accepted) from None
    if not math.isfinite(value):
        raise InvalidParameter(parameter, text, "not a finite number", accepted=accepted)
    _check_range(parameter, text, value, minimum, maximum, accepted)
    return value


def choice(
    parameter: str, text: str, choices: Sequence[T], *, aliases: Mapping[str, T] | None = None
) -> T:
    """One of `choices`, or one written by another name it has in `aliases`, as the choice."""
    written = text.strip().lower()
    if aliases and written in aliases:
        return aliases[written]
    for option in choices:
        if written == option:
            return option
    accepted = " | ".join((*choices, *(aliases or ())))
    raise InvalidParameter(parameter, text, "not one of the choices", accepted=accepted)


def colour(parameter: str, text: str) -> str:
    """A colour as draw.colour reads it, kept as #rrggbbaa (compared and written back as one,
    whichever way it was written)."""
    rgba = draw.colour(text)
    if rgba is None:
        raise InvalidParameter(parameter, text, "not a colour", accepted=draw.COLOUR_SYNTAX)
    return "#" + bytes(rgba).hex()


def boolean(parameter: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on", ""):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise InvalidParameter(parameter, text, "not a boolean", accepted="true | false")


def parts(parameter: str, text: str, count: int, *, syntax: str) -> list[str]:
    """Split a comma-separated value into exactly `count` parts."""
    pieces = [piece.strip() for piece in text.split(",")]
    if len(pieces) != count or not all(pieces):
        raise InvalidParameter(
            parameter, text, f"needs {count} comma-separated values", accepted=syntax
        )
    return pieces


def size(
    parameter: str, text: str, *, minimum: int = 1, maximum: int
) -> tuple[int | None, int | None]:
    """`WxH`, `Wx` or `xH`: a width, a height, or both, in pixels."""
    accepted = f"WxH, Wx or xH in pixels, each {minimum} to {maximum}"
    match = _SIZE.match(text.strip().lower())
    if match is None or not (match.group(1) or match.group(2)):
        raise InvalidParameter(parameter, text, "not a size", accepted=accepted)
    width, height = (
        _int_of_digits(parameter, text, digits, accepted=accepted) if digits else None
        for digits in match.groups()
    )
    for side in (width, height):
        if side is not None and not minimum <= side <= maximum:
            raise InvalidParameter(parameter, text, "a side is out of range", accepted=accepted)
    return width, height


def seconds(parameter: str, text: str) -> float:
    """A time: seconds (`12.5`) or `[hh:]mm:ss[.fff]`."""
    accepted = "seconds (12.5) or [hh:]mm:ss[.fff] (00:01:02.500)"
    value = text.strip()
    match = _TIME.match(value)
    if match:
        hours, minutes, secs = match.groups()
        if int(minutes) >= 60 or float(secs) >= 60:
            raise InvalidParameter(
                parameter, text, "minutes and seconds run 0-59", accepted=accepted
            )
        whole_hours = _int_of_digits(parameter, text, hours or "0", accepted=accepted)
        return whole_hours * 3600 + int(minutes) * 60 + float(secs)
    try:
        result = float(value)
    except ValueError:
        raise InvalidParameter(parameter, text, "not a time", accepted=accepted) from None
    if not math.isfinite(result) or result < 0:
        raise InvalidParameter(parameter, text, "not a time", accepted=accepted)
    return result


def _int_of_digits(parameter: str, text: str, digits: str, *, accepted: str) -> int:
    """`digits`, a sign and decimal digits written in `text`, as an integer; with more than
    MAX_DIGITS digits it is out of range, whatever the range (int() would raise)."""
    significant = digits.lstrip("+-").lstrip("0") or "0"  # int() counts leading zeros too
    if len(significant) > MAX_DIGITS:
        problem = f"out of range: more than {MAX_DIGITS} digits"
        raise InvalidParameter(parameter, text, problem, accepted=accepted)
    return -int(significant) if digits.startswith("-") else int(significant)


def range_text(what: str, minimum: float | None, maximum: float | None) -> str:
    """What a bounded number accepts, in words: "an integer from 1 to 500"."""
    if minimum is not None and maximum is not None:
        return f"{what} from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f"{what} of at least {minimum:g}"
    if maximum is not None:
        return f"{what} of at most {maximum:g}"
    return what


def _check_range(
    parameter: str,
    text: str,
    value: float,
    minimum: float | None,
    maximum: float | None,
    accepted: str,
) -> None:
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise InvalidParameter(parameter, text, "out of range", accepted=accepted)
