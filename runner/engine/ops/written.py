"""Operations written back in the edit language's query form, the inverse of reading them:
`crop=80,60,160,120&resize=800x&fit=cover`. The API shows it beside an edit's JSON so that
people read an edit as they would write it."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from runner.engine.ops.base import MediaKind, Operation
from runner.engine.ops.catalogue import catalogue


def query_string(operations: Iterable[Operation]) -> str:
    """Each operation followed by its modifiers: read back, each modifier refines the
    operation just before it, so parsing this gives the same operations."""
    return "&".join(operation.to_query() for operation in operations)


def stored_query(
    ops: Sequence[Mapping[str, Any]], kinds: Sequence[MediaKind] = tuple(MediaKind)
) -> str | None:
    """The query form of operations kept as JSON (an edit's or a workflow's), read as the first
    of `kinds` that reads them all; operations both kinds have (noop, resize) are written the
    same by either. None when no kind reads them: an import's request is no operation of the
    edit language."""
    for kind in kinds:
        operations = _read(kind, ops)
        if operations is not None:
            return query_string(operations)
    return None


def _read(kind: MediaKind, ops: Sequence[Mapping[str, Any]]) -> list[Operation] | None:
    """Read as `kind`, switching to the kind an operation produces (thumbnail, frames: the
    operations after them are image operations), as the edit language reads them."""
    read: list[Operation] = []
    for item in ops:
        operation = catalogue().operation(kind, str(item.get("op")))
        if operation is None:
            return None
        try:
            read.append(operation.model_validate(item))
        except ValidationError:
            return None
        kind = operation.produces or kind
    return read
