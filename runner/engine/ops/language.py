"""An edit written as a query string (`crop=0,0,10,10&resize=800x&fit=cover`) or as JSON
(`[{"op": "crop", ...}]`) becomes the same list of typed operations, or a 422 that names the
parameter, the value and what would be accepted. /edit and workflows both come through here.

Operations run in the order they appear. A modifier (fit, quality, text_size, ...) refines the
nearest operation it belongs to before it, or, if there is none before it, the first after it;
some operations (a video's format) may be left out when a modifier says enough (vcodec).
After an operation whose results are another kind of media (thumbnail, frames: images), the
rest of the edit is that kind's operations, run on each result.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from runner.engine.ops.base import Limits, MediaKind, Operation, SourceFacts
from runner.engine.ops.catalogue import Catalogue
from runner.engine.ops.params import limits_in_force
from service.kernel.errors import InvalidParameter, UnknownParameter

QueryItems = Sequence[tuple[str, str]]


@dataclass
class _Part:
    """The run of parameters read as one media kind: the edit's own, then, after an operation
    whose results are another kind (thumbnail: images), that kind's."""

    kind: MediaKind
    after: str | None  # the operation whose results it runs on
    items: list[tuple[str, str]] = field(default_factory=list)
    operations: int = 0  # of its items, those that are operations (not modifiers)


@dataclass(frozen=True, slots=True)
class _Written:
    kind: MediaKind
    name: str
    value: str | None  # None: implied by its modifiers
    modifiers: dict[str, str]


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
    parts = _parts(catalogue, kind, items)
    # Counted before the modifiers are attached, work that grows with the operations times
    # the modifiers: thousands of operations were refused only after it (0.26 s for 3,000).
    # Implied operations (vcodec's format, which may be the only one) come in later: the
    # whole count is checked again below.
    _check_most(sum(part.operations for part in parts), limits.max_operations)
    written = [
        operation
        for part in parts
        for operation in _written(catalogue, part, controls)  # its errors say more
    ]
    _check_count(len(written), limits.max_operations)
    with limits_in_force(limits):
        operations = [_from_query(catalogue, operation) for operation in written]
    return checked(operations, limits, written=[operation.value for operation in written])


def parse_json(
    catalogue: Catalogue, kind: MediaKind, document: Any, *, limits: Limits
) -> list[Operation]:
    if not isinstance(document, list):
        raise InvalidParameter(
            "ops", type(document).__name__, "must be a JSON array", accepted='[{"op": ...}, ...]'
        )
    _check_count(len(document), limits.max_operations)
    operations: list[Operation] = []
    for index, item in enumerate(document):
        operations.append(_from_json(catalogue, kind, index, item))
        kind = operations[-1].produces or kind
    return checked(operations, limits)


def result_kind(catalogue: Catalogue, kind: MediaKind, names: Sequence[str]) -> MediaKind:
    """What an edit of `kind` media whose operations are `names` makes: media of its own kind,
    or of the kind an operation produces (thumbnail, frames: images)."""
    for name in names:
        operation = catalogue.operation(kind, name)
        if operation is not None and operation.produces is not None:
            kind = operation.produces
    return kind


def makes_sound_alone(catalogue: Catalogue, kind: MediaKind, names: Sequence[str]) -> bool:
    """Whether an edit of `kind` media whose operations are `names` keeps only the sound
    (audio=extract): its result has no picture."""
    return any(
        (operation := catalogue.operation(kind, name)) is not None and operation.sound_alone
        for name in names
    )


def checked(
    operations: list[Operation], limits: Limits, *, written: Sequence[str | None] = ()
) -> list[Operation]:
    """Rules about the whole list: limits, terminal operations last, some operations once.
    `written`: each operation's value as the query string gave it, for the refusals."""
    for position, operation in enumerate(operations):
        operation.check_limits(limits)
        operation.check_in_edit(limits, later=operations[position + 1 :])
        earlier = operations[:position]
        value = _value(operation, written[position] if written else None)
        if operation.once and any(type(other) is type(operation) for other in earlier):
            raise InvalidParameter(
                operation.name, value, "given more than once: the result has one",
                accepted=f"one {operation.name} per edit",
            )  # fmt: skip
        if operation.terminal and position != len(operations) - 1:
            raise InvalidParameter(
                operation.name, value, "must be the last operation",
                accepted=f"{operation.name} at the end of the edit",
            )  # fmt: skip
    return operations


def check_source(operations: Sequence[Operation], facts: SourceFacts, *, limits: Limits) -> None:
    """Refuse (InvalidParameter), before the edit is queued, an operation the source's own
    facts make impossible: a trim starting at or after a video's end, a crop outside the
    picture, a video's resize past the codecs' largest frame to another size than the
    source's (check_in_edit, shown the facts). Each operation is shown the facts as the
    operations before it leave them; one that changes a fact (a resize the size, a speed the
    duration) leaves it unknown, and what comes after is judged by the runner, with the media
    at hand."""
    for position, operation in enumerate(operations):
        operation.check_in_edit(limits, later=operations[position + 1 :], source=facts)
        facts = operation.on_source(facts)


def _value(operation: Operation, written: str | None) -> str:
    """What an error about the whole operation shows as its `value`: as written, else its
    values as JSON gives them (`container:mp4`), else its name; never empty."""
    if written:
        return written
    values = {k: v for k, v in operation.as_json().items() if k != "op" and v is not None}
    return ",".join(f"{key}:{value}" for key, value in values.items()) or operation.name


def _parts(catalogue: Catalogue, kind: MediaKind, items: QueryItems) -> list[_Part]:
    parts = [_Part(kind, after=None)]
    for name, value in items:
        part = parts[-1]
        part.items.append((name, value))
        operation = catalogue.operation(part.kind, name)
        if operation is None:
            continue
        part.operations += 1
        if operation.produces not in (None, part.kind):
            parts.append(_Part(operation.produces, after=name))
    return parts


def _written(catalogue: Catalogue, part: _Part, controls: Sequence[str]) -> list[_Written]:
    operations: list[tuple[str, str | None]] = []
    modifiers: list[tuple[int, str, str]] = []  # (position among operations, name, value)
    for name, value in part.items:
        if catalogue.operation(part.kind, name) is not None:
            operations.append((name, value))
        elif catalogue.owner(part.kind, name) is not None:
            modifiers.append((len(operations), name, value))
        else:
            raise _unknown(catalogue, part, name, value, controls)
    modifiers = _imply(catalogue, part.kind, operations, modifiers)
    attached = _attach(catalogue, part.kind, operations, modifiers)
    return [
        _Written(part.kind, name, value, attached[position])
        for position, (name, value) in enumerate(operations)
    ]


def _imply(
    catalogue: Catalogue,
    kind: MediaKind,
    operations: list[tuple[str, str | None]],
    modifiers: list[tuple[int, str, str]],
) -> list[tuple[int, str, str]]:
    """An `implied` operation only its modifiers name (vcodec without format) comes in where
    the first of them stands; the modifiers after it move along."""
    for position, name, _ in list(modifiers):
        owner = catalogue.owner(kind, name)
        operation = catalogue.operation(kind, owner) if owner else None
        if operation is None or not operation.implied or any(o == owner for o, _ in operations):
            continue
        operations.insert(position, (operation.name, None))
        modifiers = [(p + 1 if p > position else p, n, v) for p, n, v in modifiers]
    return modifiers


def _from_query(catalogue: Catalogue, written: _Written) -> Operation:
    operation = catalogue.operation(written.kind, written.name)
    assert operation is not None
    if written.value is None:
        return operation.from_modifiers(written.modifiers)
    return operation.from_query(written.value, written.modifiers)


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
        # A check of the whole operation (no field of its own) names the operation; a check of
        # ours says its own words, without pydantic's "Value error, " before them.
        problem = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
        raise InvalidParameter(
            f"{where}.{field}" if field else where,
            error.get("input"),
            problem,
            accepted=operation.syntax,
        ) from None


def _attach(
    catalogue: Catalogue,
    kind: MediaKind,
    operations: list[tuple[str, str | None]],
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
    if count == 0:  # nothing was given: the value is empty, not "0"
        raise InvalidParameter("operations", "", "no operation given", accepted="at least one")
    _check_most(count, maximum)


def _check_most(count: int, maximum: int) -> None:
    if count > maximum:
        raise InvalidParameter(
            "operations", str(count), "too many operations", accepted=f"at most {maximum}"
        )


def _unknown(
    catalogue: Catalogue, part: _Part, name: str, value: str, controls: Sequence[str]
) -> InvalidParameter:
    kind = part.kind
    others = [other for other in MediaKind if other != kind and catalogue.knows(other, name)]
    if others and part.after is not None:
        return UnknownParameter(
            name, value, f"comes after {part.after}, whose results are {kind}s: only {kind} "
            "operations may follow it", accepted=" | ".join(catalogue.names(kind)),
        )  # fmt: skip
    if others:
        return UnknownParameter(
            name, value,
            f"applies to {others[0]} media, and this media is {'an' if kind == 'image' else 'a'} "
            f"{kind}",
            accepted=" | ".join(catalogue.names(kind)),
        )  # fmt: skip
    accepted = " | ".join(catalogue.names(kind))
    if controls:
        accepted = f"an operation ({accepted}) or {' | '.join(controls)}"
    return UnknownParameter(name, value, "unknown parameter", accepted=accepted)
