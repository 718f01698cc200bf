"""Which operations exist, per media kind, and which modifiers belong to which operation.

Operations are listed here explicitly (no discovery, no dotted strings in settings)."""

from collections.abc import Iterable
from functools import cache
from typing import Any

from runner.engine.image.operations import IMAGE_OPERATIONS
from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.noop import ImageNoop, VideoNoop
from runner.engine.video.operations import VIDEO_OPERATIONS

OperationClass = type[Operation]


class Catalogue:
    def __init__(self, operations: Iterable[OperationClass]) -> None:
        self._operations: dict[MediaKind, dict[str, OperationClass]] = {k: {} for k in MediaKind}
        self._owners: dict[MediaKind, dict[str, str]] = {k: {} for k in MediaKind}
        for operation in operations:
            self._add(operation)

    def _add(self, operation: OperationClass) -> None:
        names = self._operations[operation.kind]
        owners = self._owners[operation.kind]
        for name in (operation.name, *operation.modifiers()):
            if name in names or name in owners:
                raise ValueError(f"{name!r} is defined twice for {operation.kind} media")
        names[operation.name] = operation
        owners.update((modifier, operation.name) for modifier in operation.modifiers())

    def operation(self, kind: MediaKind, name: str) -> OperationClass | None:
        return self._operations[kind].get(name)

    def owner(self, kind: MediaKind, modifier: str) -> str | None:
        """The operation a modifier refines (fit → resize), if it is one."""
        return self._owners[kind].get(modifier)

    def names(self, kind: MediaKind) -> list[str]:
        return sorted(self._operations[kind])

    def operations(self, kind: MediaKind) -> list[OperationClass]:
        """In the order they were listed (the order of the documentation)."""
        return list(self._operations[kind].values())

    def described(self, limits: Limits) -> list[dict[str, Any]]:
        """Every operation of every kind as GET /operations shows it."""
        return [op.described(limits) for kind in MediaKind for op in self.operations(kind)]

    def knows(self, kind: MediaKind, name: str) -> bool:
        return name in self._operations[kind] or name in self._owners[kind]

    def role(self, name: str) -> str | None:
        """What `name` is in the language, of any kind, for a person: "an operation", "a
        modifier of resize" (of format or trim, when it refines one per kind); None when it
        is neither."""
        if any(name in self._operations[kind] for kind in MediaKind):
            return "an operation"
        owners = sorted({self._owners[kind][name] for kind in MediaKind if self.knows(kind, name)})
        return f"a modifier of {' or '.join(owners)}" if owners else None


def _all_operations() -> list[OperationClass]:
    return [ImageNoop, *IMAGE_OPERATIONS, VideoNoop, *VIDEO_OPERATIONS]


@cache
def catalogue() -> Catalogue:
    return Catalogue(_all_operations())
