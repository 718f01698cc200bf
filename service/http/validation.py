"""FastAPI's own request validation (a query parameter's type or bounds, a JSON body's
shape), said as editroom says every refusal: an InvalidParameter naming the parameter (or the
body's key), showing the value, and saying in words what is accepted. The words come from what
the route declares (its parameter's type, bounds, choices; the body model's fields), never
from pydantic's message, so a route added later is described without being listed here."""

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from inspect import isclass
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin
from uuid import UUID

import annotated_types
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from starlette.routing import BaseRoute

from runner.engine.ops.grammar import range_text
from service.kernel.errors import InvalidHeader, InvalidParameter, UnknownParameter

Location = Sequence[str | int]
# pydantic's error types, each said as the edit language says the same problem.
_PROBLEMS = {
    "missing": "is required",
    "extra_forbidden": "not a key it takes",
    "literal_error": "not one of the choices",
    "enum": "not one of the choices",
    "int_parsing": "not an integer",
    "int_type": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "finite_number": "not a finite number",
    "bool_parsing": "not a boolean",
    "bool_type": "not a boolean",
    "uuid_parsing": "not an id",
    "uuid_type": "not an id",
    "uuid_version": "not an id",
    "string_type": "not text",
    "list_type": "not a list",
    "model_type": "not a JSON object",
    "model_attributes_type": "not a JSON object",
    "dict_type": "not a JSON object",
    "too_long": "has too many items",
    "too_short": "has too few items",
    "string_too_long": "too long",
    "string_too_short": "too short",
}
_OUT_OF_RANGE = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")


def refusal(route: BaseRoute | None, error: Mapping[str, Any]) -> InvalidParameter:
    """The refusal of one of FastAPI's validation errors on `route`'s request."""
    location: Location = tuple(error["loc"])
    where, path = (str(location[0]), location[1:]) if location else ("body", ())
    parameter = _name(where, path)
    problem = _problem(error["type"])
    value = error.get("input")
    if error["type"] == "extra_forbidden":
        parent = _declared(route, where, path[:-1])
        keys = _keys(parent[1]) if parent is not None else []
        accepted = f"the keys {', '.join(keys)}" if keys else "no other key"
        return UnknownParameter(parameter, value, problem, accepted=accepted)
    declared = _declared(route, where, path)
    accepted = "what its documentation says" if declared is None else words(*declared)
    cls = InvalidHeader if where == "header" else InvalidParameter
    return cls(parameter, value, problem, accepted=accepted)


def words(name: str, annotation: Any, constraints: Sequence[Any] = ()) -> str:
    """What a value of this declared type and constraints is, for a person: "an integer
    from 1 to 500", "one of: image, video", "a media id (a UUID)"."""
    annotation = _without_none(annotation)
    bounds = _bounds(constraints)
    if get_origin(annotation) is Literal:
        return "one of: " + ", ".join(str(choice) for choice in get_args(annotation))
    if isclass(annotation) and issubclass(annotation, Enum):
        return "one of: " + ", ".join(str(member.value) for member in annotation)
    if annotation is bool:
        return "true or false"
    if annotation is int:
        return _number("an integer", bounds, whole=True)
    if annotation is float:
        return _number("a number", bounds, whole=False)
    if annotation is UUID:
        noun = _noun(name)
        if noun == "id":  # a parameter named id alone (GET /bucket/upload?id=)
            return "an id (a UUID)"
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} id (a UUID)"
    if annotation is datetime:
        return "a date and time (ISO 8601, e.g. 2026-11-23T10:00:00Z)"
    if annotation is date:
        return "a day (ISO 8601, e.g. 2026-11-23)"
    if annotation is str:
        most = bounds.get("max_length")
        return "text" if most is None else f"text of at most {most:g} characters"
    if get_origin(annotation) in (list, tuple, set, frozenset):
        (item, *_) = get_args(annotation) or (Any,)
        least = bounds.get("min_length")
        count = "" if not least else f" of at least {least:g}"
        return f"a JSON array{count}, each {words(name, item)}"
    if isclass(annotation) and issubclass(annotation, BaseModel):
        return f"a JSON object with the keys {', '.join(_keys(annotation))}"
    if annotation is dict or get_origin(annotation) is dict:
        return "a JSON object"
    return "what its documentation says"


def _declared(
    route: BaseRoute | None, where: str, path: Location
) -> tuple[str, Any, list[Any]] | None:
    """The name, type and constraints the route declares at `path` of its request's `where`
    (query, path, header, cookie, body); None when it declares nothing there."""
    if not isinstance(route, APIRoute):
        return None
    if where != "body":
        field = next((f for f in _parameters(route, where) if f.alias == path[0]), None)
        if field is None:
            return None
        parameter: tuple[str, Any, list[Any]] | None = (field.alias, *_typed(field.field_info))
        for step in path[1:]:  # a repeated parameter's n-th value (id=A&id=B)
            parameter = None if parameter is None else _step(parameter, step)
        return parameter
    body = route.body_field
    if body is None:
        return None
    found: tuple[str, Any, list[Any]] = (body.alias, *_typed(body.field_info))
    for step in path:
        found_step = _step(found, step)
        if found_step is None:
            return None
        found = found_step
    return found


def _step(found: tuple[str, Any, list[Any]], step: str | int) -> tuple[str, Any, list[Any]] | None:
    name, annotation, _ = found
    annotation = _without_none(annotation)
    if isinstance(step, int) and get_origin(annotation) in (list, tuple, set, frozenset):
        return name, (get_args(annotation) or (Any,))[0], []
    if isinstance(step, str) and isclass(annotation) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(step)
        return None if field is None else (step, *_typed(field))
    return None


def _parameters(route: APIRoute, where: str) -> Iterator[Any]:
    """The route's declared parameters in `where`, its dependencies' included."""
    dependants = [route.dependant]
    while dependants:
        dependant = dependants.pop()
        yield from getattr(dependant, f"{where}_params", [])
        dependants.extend(dependant.dependencies)


def _typed(field: FieldInfo) -> tuple[Any, list[Any]]:
    return field.annotation, list(field.metadata)


def _bounds(constraints: Sequence[Any]) -> dict[str, float]:
    """minimum, maximum (each with `_exclusive` when it is not accepted itself), min_length,
    max_length: the constraints pydantic keeps, by name."""
    names = {
        annotated_types.Ge: ("minimum", "ge"), annotated_types.Gt: ("minimum_exclusive", "gt"),
        annotated_types.Le: ("maximum", "le"), annotated_types.Lt: ("maximum_exclusive", "lt"),
        annotated_types.MinLen: ("min_length", "min_length"),
        annotated_types.MaxLen: ("max_length", "max_length"),
    }  # fmt: skip
    found: dict[str, float] = {}
    for constraint in constraints:
        name, attribute = names.get(type(constraint), (None, None))
        if name is not None:
            found[name] = float(getattr(constraint, str(attribute)))
    return found


def _number(what: str, bounds: Mapping[str, float], *, whole: bool) -> str:
    """An integer's or a number's range: an exclusive bound of an integer is the next whole
    number, inclusive; of a number it is said as such ("more than 0")."""
    low, high = bounds.get("minimum"), bounds.get("maximum")
    above, below = bounds.get("minimum_exclusive"), bounds.get("maximum_exclusive")
    if whole:
        low = low if above is None else above + 1
        high = high if below is None else below - 1
    if whole or (above is None and below is None):
        return range_text(what, low, high)
    lower = f"more than {above:g}" if above is not None else None
    upper = f"less than {below:g}" if below is not None else None
    lower = lower or (None if low is None else f"at least {low:g}")
    upper = upper or (None if high is None else f"at most {high:g}")
    return f"{what} {' and '.join(part for part in (lower, upper) if part)}"


def _without_none(annotation: Any) -> Any:
    """X from `X | None`; a union of several types stays as it is."""
    if get_origin(annotation) in (Union, UnionType):
        kept = [arg for arg in get_args(annotation) if arg is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def _keys(model: Any) -> list[str]:
    model = _without_none(model)
    if isclass(model) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


def _name(where: str, path: Location) -> str:
    """The parameter as a client wrote it: `media`, or a body's `media[0]`, `kinds[1]`; a
    repeated query parameter's values are each written `id=...`, so each is named `id`."""
    if not path:
        return "body" if where == "body" else where
    name = str(path[0])
    if where != "body":
        return name
    for step in path[1:]:
        name += f"[{step}]" if isinstance(step, int) else f".{step}"
    return name


def _noun(name: str) -> str:
    return name.removesuffix("_id").replace("_", " ") or "resource"


def _problem(kind: str) -> str:
    if kind in _OUT_OF_RANGE:
        return "out of range"
    return _PROBLEMS.get(kind, "not accepted")
