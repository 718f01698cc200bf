"""/operations: the edit language as data, the same catalogue POST /edit parses with."""

from typing import Any

from fastapi import APIRouter

from service.http.deps import EditsDep

router = APIRouter(prefix="/operations", tags=["edits"])


@router.get("")
async def list_operations(edits: EditsDep) -> dict[str, Any]:
    """Every operation, per media kind: its group, syntax, a whole example, whether it must
    come last (terminal) or once, and its parameters (its own value first, then its
    modifiers) with type, bounds, default, description and example. The bounds are the ones
    this service applies (its configured limits). `controls` are POST /edit's own
    parameters."""
    return edits.language()
