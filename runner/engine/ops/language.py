"""An edit written as a query string (`crop=0,0,10,10&resize=800x&fit=cover`) or as JSON
(`[{"op": "crop", ...}]`) becomes the same list of typed operations, or a 422 that names the
parameter, the value and what would be accepted. /edit and workflows both come through here.

Operations run in the order they appear. A modifier (fit, quality, text_size, ...) refines the
nearest operation it belongs to before it, or, if there is none before it, the first after it.
"""

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import Catalogue
from service.kernel.errors import InvalidParameter, UnknownParameter

QueryItems = Sequence[tuple[str, str]]


def parse_query(
    catalogue: Catalogue,
    kind: MediaKind,
    items: QueryItems,
    *,
    limits: Limits,
    controls: Sequence[str] = (),
) -> list[Operation]:
    """`controls` are the route's other parameters (already taken out of `items`), named in
    the refusal of an unknown parameter so that it lists everything the route accepts."""
    operations: list[tuple[str, str]] = []
    modifiers: list[tuple[int, str, str]] = []  # (position among operations, name, value)
    for name, value in items:
        if catalogue.operation(kind, name) is not None:
            operations.append((name, value))
        elif catalogue.owner(kind, name) is not None:
            modifiers.append((len(operations), name, value))
        else:
            raise _unknown(catalogue, kind, name, value, controls)
    attached = _attach(catalogue, kind, operations, modifiers)  # its errors say more
    _check_count(len(operations), limits.max_operations)
    return checked(
        [
            _from_query(catalogue, kind, name, value, attached[position])
            for position, (name, value) in enumerate(operations)
        ],
        limits,
    )


def parse_json(
    catalogue: Catalogue, kind: MediaKind, document: Any, *, limits: Limits
) -> list[Operation]:
    if not isinstance(document, list):
        raise InvalidParameter(
            "ops", type(document).__name__, "must be a JSON array", accepted='[{"op": ...}, ...]'
        )
    _check_count(len(document), limits.max_operations)
    return checked(
        [_from_json(catalogue, kind, index, item) for index, item in enumerate(document)], limits
    )


def checked(operations: list[Operation], limits: Limits) -> list[Operation]:
    """Rules about the whole list: limits, terminal operations last, some operations once."""
    for position, operation in enumerate(operations):
        operation.check_limits(limits)
        earlier = operations[:position]
        if operation.once and any(type(other) is type(operation) for other in earlier):
            raise InvalidParameter(
                operation.name, "", "given more than once: the result has one",
                accepted=f"one {operation.name} per edit",
            )  # fmt: skip
        if operation.terminal and position != len(operations) - 1:
            raise InvalidParameter(
                operation.name, "", "must be the last operation: its results are new media",
                accepted=f"{operation.name} at the end of the edit",
            )  # fmt: skip
    return operations


def _from_query(
    catalogue: Catalogue, kind: MediaKind, name: str, value: str, modifiers: dict[str, str]
) -> Operation:
    operation = catalogue.operation(kind, name)
    assert operation is not None
    return operation.from_query(value, modifiers)


def _from_json(catalogue: Catalogue, kind: MediaKind, index: int, item: Any) -> Operation:
    where = f"ops[{index}]"
    name = item.get("op") if isinstance(item, dict) else None
    operation = catalogue.operation(kind, name) if isinstance(name, str) else None
    if operation is None:
        accepted = " | ".join(catalogue.names(kind))
        raise UnknownParameter(f"{where}.op", name, f"no such {kind} operation", accepted=accepted)
    try:
        return operation.model_validate(item)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        raise InvalidParameter(
            f"{where}.{field}", error.get("input"), error["msg"], accepted=operation.syntax
        ) from None


def _attach(
    catalogue: Catalogue,
    kind: MediaKind,
    operations: list[tuple[str, str]],
    modifiers: list[tuple[int, str, str]],
) -> list[dict[str, str]]:
    attached: list[dict[str, str]] = [{} for _ in operations]
    for position, name, value in modifiers:
        owner = catalogue.owner(kind, name)
        before = [i for i in range(position) if operations[i][0] == owner]
        after = [i for i in range(position, len(operations)) if operations[i][0] == owner]
        target = before[-1] if before else (after[0] if after else None)
        if target is None:
            raise InvalidParameter(
                name, value, f"refines {owner}, which is not in this edit", accepted=f"{owner}=..."
            )
        if name in attached[target]:
            raise InvalidParameter(
                name, value, f"given twice for the same {owner}", accepted=f"one {name} per {owner}"
            )
        attached[target][name] = value
    return attached


def _check_count(count: int, maximum: int) -> None:
    if count == 0:
        raise InvalidParameter("operations", "", "no operation given", accepted="at least one")
    if count > maximum:
        raise InvalidParameter(
            "operations", str(count), "too many operations", accepted=f"at most {maximum}"
        )


def _unknown(
    catalogue: Catalogue, kind: MediaKind, name: str, value: str, controls: Sequence[str]
) -> InvalidParameter:
    others = [other for other in MediaKind if other != kind and catalogue.knows(other, name)]
    if others:
        return UnknownParameter(
            name, value, f"applies to {others[0]} media, and this media is {kind}",
            accepted=" | ".join(catalogue.names(kind)),
        )  # fmt: skip
    accepted = " | ".join(catalogue.names(kind))
    if controls:
        accepted = f"an operation ({accepted}) or {' | '.join(controls)}"
    return UnknownParameter(name, value, "unknown parameter", accepted=accepted)
