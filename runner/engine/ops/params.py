"""An operation's parameters, each declared once: its query name, type, bounds, default,
description and example. From that one declaration come the pydantic field (the bounds JSON
edits are checked against), the query-string reader (the same bounds, refused with the same
words), and the parameter as GET /operations and the OpenAPI document show it."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from runner.engine import draw, places
from runner.engine.ops import grammar
from service.kernel.errors import InvalidParameter

if TYPE_CHECKING:
    from runner.engine.ops.base import Limits

ParamType = Literal[
    "integer", "number", "boolean", "choice", "place", "text", "colour", "size", "box", "time",
    "times", "media", "flag", "list", "uuid",
]  # fmt: skip
LimitName = Literal["max_output_side", "max_video_seconds"]


# The limits the edit being read is held to (limits_in_force), for the bounds a refusal states.
_LIMITS: ContextVar["Limits | None"] = ContextVar("limits_in_force", default=None)


@contextmanager
def limits_in_force(limits: "Limits") -> Iterator[None]:
    """Values read in this block are bounded by `limits` too (Param._maximum). The edit
    language reads operations under it; an operation's from_query, which takes no limits,
    then refuses a value with the effective bound, not its own wider one."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
"""The default of a parameter that has none: it must be given."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    name: str  # as written in a query string
    type: ParamType
    description: str
    example: str  # a value as written in a query string
    default: Any = REQUIRED
    minimum: float | None = None  # of the value, or of each number in a composite value
    maximum: float | None = None
    limit: LimitName | None = None  # a configured limit that also bounds it from above
    multiple_of: int | None = None
    # A choice's options; a place's named ones (runner.engine.places: it takes x:y points too).
    choices: tuple[str, ...] = ()
    # Other names a choice or a place may be written by (the compass's `ne` for `top-right`).
    aliases: Mapping[str, str] = dataclass_field(default_factory=dict, hash=False, compare=False)
    max_length: int | None = None  # characters of text; items of a list
    parts: tuple["Param", ...] = ()  # what a composite value (box, times, list) is made of

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def field(self, *, optional: bool = False, **extra: Any) -> Any:
        """The pydantic field holding the value (or one side, one part of it), with the same
        bounds and default; optional: None when not given (one side of a size)."""
        numeric = self.type in ("integer", "number", "time", "size")
        default = None if optional else ... if self.required else self.default
        return Field(
            default=default,
            ge=self.minimum if numeric else None,
            le=self.maximum if numeric else None,
            multiple_of=self.multiple_of,
            min_length=1 if self.type == "text" else None,
            max_length=self.max_length if self.type == "text" else None,
            allow_inf_nan=False if self.type in ("number", "time") else None,
            description=self.description,
            **extra,
        )

    def read(self, text: str) -> Any:
        """The value of a simple parameter read from its query-string text."""
        return self._read(self.name, text)

    def read_part(self, text: str, *, of: str, whole: str, part: str | None = None) -> Any:
        """The value of this part (`part`, else its own name: crop's width) of parameter `of`,
        read from its text; refused under `of`'s name, showing the `whole` value as given
        and saying which part is wrong and what it was."""
        try:
            return self._read(of, text)
        except InvalidParameter as refused:
            raise refused.of_part(part or self.name, whole) from None

    def _read(self, name: str, text: str) -> Any:
        maximum = self._maximum()
        if self.type == "integer":
            minimum = _whole(self.minimum)
            return grammar.integer(name, text, minimum=minimum, maximum=_whole(maximum))
        if self.type == "number":
            return grammar.number(name, text, minimum=self.minimum, maximum=maximum)
        if self.type == "boolean":
            return grammar.boolean(name, text)
        if self.type == "choice":
            return grammar.choice(name, text, self.choices, aliases=self.aliases)
        if self.type == "place":
            return places.read(name, text)
        if self.type == "time":
            return grammar.seconds(name, text)
        if self.type == "size":
            minimum = _whole(self.minimum) or 1
            return grammar.size(name, text, minimum=minimum, maximum=_whole(maximum) or 0)
        if self.type == "colour":
            return grammar.colour(name, text)
        raise TypeError(f"{self.name} is a {self.type}: its operation reads it")

    def _maximum(self) -> float | None:
        """The largest value read: under limits_in_force, the configured limit's too (a
        resize's sides at most EDITROOM_MAX_OUTPUT_SIDE), so a refusal says what is
        accepted here, as GET /operations does."""
        limits = _LIMITS.get()
        return self.maximum if limits is None else self._bounds(limits).get("maximum")

    @property
    def held_in(self) -> int:
        """How many of its operation's fields hold its value: none for a flag, width and
        height for a size, one per part for a box or times, otherwise one."""
        if self.type == "flag":
            return 0
        if self.type == "size":
            return 2
        return len(self.parts) if self.type in ("box", "times") else 1

    def is_default(self, values: Sequence[Any]) -> bool:
        """Whether `values` hold the default; a colour is compared as a colour, since its
        default is written as a name (white) and an operation keeps it as #rrggbbaa."""
        if self.required:
            return False
        if self.type == "colour":
            (value,) = values
            return draw.colour(str(value)) == draw.colour(str(self.default))
        return tuple(values) == ((self.default,) if self.held_in else ())

    def write(self, values: Sequence[Any]) -> str:
        """The query-string text of the value held in `values` (`held_in` of them): the
        inverse of read, and of how its operation reads a box or times."""
        if self.type == "flag":
            return ""
        if self.type == "size":
            return "x".join("" if side is None else str(side) for side in values)
        if self.type in ("box", "times"):
            pairs = zip(self.parts, values, strict=True)
            return ",".join(part.write((value,)) for part, value in pairs if value is not None)
        if self.parts:
            raise TypeError(f"{self.name} is a {self.type} of parts: its operation writes it")
        (value,) = values
        return _written(self.type, value)

    def modifier(self, modifiers: Mapping[str, str]) -> Any:
        """The value of this modifier as given, or its default."""
        text = modifiers.get(self.name)
        return self.default if text is None else self.read(text)

    def described(self, limits: "Limits") -> dict[str, Any]:
        """The parameter as GET /operations shows it: the bounds the parser really applies."""
        shown: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.required:
            shown["required"] = True
        else:
            shown["default"] = self.default
        for key, value in self._bounds(limits).items():
            shown[key] = value
        if self.aliases:  # a choice written by another name: {"ne": "top-right"}
            shown["aliases"] = dict(self.aliases)
        shown["description"] = self.description
        shown["example"] = self.example
        if self.parts:
            shown["items" if self.type == "list" else "parts"] = [
                part.described(limits) for part in self.parts
            ]
        return shown

    def _bounds(self, limits: "Limits") -> dict[str, Any]:
        maximum = self.maximum
        if self.limit is not None:
            configured = getattr(limits, self.limit)
            maximum = configured if maximum is None else min(maximum, configured)
        bounds: dict[str, Any] = {
            "minimum": self.minimum,
            "maximum": maximum,
            "multipleOf": self.multiple_of,
            "choices": list(self.choices) or None,
            "maxLength": self.max_length,
        }
        return {key: value for key, value in bounds.items() if value is not None}


def _kept_colour(text: str) -> str:
    """A colour field's check: the query's (grammar.colour), its refusal in the same words
    (pydantic names the field)."""
    try:
        return grammar.colour("colour", text)
    except InvalidParameter as refused:
        raise ValueError(f"{refused.problem}; accepted: {refused.accepted}") from None


# The type of a colour parameter's field: any colour a query may write, kept as #rrggbbaa (its
# default too, with validate_default=True).
HexColour = Annotated[str, AfterValidator(_kept_colour)]


def _written(type: ParamType, value: Any) -> str:
    if type == "boolean":
        return "true" if value else "false"
    if type in ("number", "time"):
        text = repr(float(value))  # the shortest text that reads back as the same float
        return text.removesuffix(".0")
    if type == "media":
        return ",".join(str(media_id) for media_id in value)
    if type == "colour":  # hex without its # (the grammar takes it), opaque without alpha
        text = str(value).removeprefix("#")
        return text[:6] if len(text) == 8 and text.endswith("ff") else text
    return str(value)


def _whole(bound: float | None) -> int | None:
    return None if bound is None else int(bound)
