"""What a claimed edit does. For now the runner carries out no-op edits only; the operations
of the edit engine arrive with it, and anything else fails, permanently, saying so."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from service.errors import EditroomError

NOOP = "noop"

ReportProgress = Callable[[float], None]
Execute = Callable[["ClaimedEdit", ReportProgress], Awaitable[list[UUID]]]


class PermanentFailure(EditroomError):
    """The edit cannot succeed however often it is tried: fail it without retrying."""


@dataclass(frozen=True, slots=True)
class ClaimedEdit:
    id: UUID
    media_id: UUID
    ops: list[dict[str, Any]]
    trial: int
    max_trials: int

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ClaimedEdit":
        return cls(
            id=row["id"],
            media_id=row["media_id"],
            ops=row["ops"],
            trial=row["trial"],
            max_trials=row["max_trials"],
        )


async def execute_edit(edit: ClaimedEdit, report_progress: ReportProgress) -> list[UUID]:
    """Run the edit's operations; return the ids of the media it produced."""
    for position, op in enumerate(edit.ops, start=1):
        name = op.get("op") if isinstance(op, dict) else op
        if name != NOOP:
            raise PermanentFailure(
                f"operation {position} ({name!r}) is not supported by this runner; "
                f"it carries out {NOOP!r} operations only"
            )
    report_progress(1.0)
    return []
