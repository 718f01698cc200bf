"""The parameters of a request for edits beside its operations (media, session, wait, priority,
fresh), as the edit language declares them (GET /operations lists them as `controls`), and
how each is read: a wrong one is an InvalidParameter naming it."""

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from runner.engine.ops.base import Limits
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

MEDIA = Param(
    name="media", type="uuid", default=None, example="0f8fad5b-d9cb-469f-a165-70867728950e",
    description="The id of the uploaded image or video to edit (or give session).",
)  # fmt: skip
SESSION = Param(
    name="session", type="uuid", default=None, example="7c9e6679-7425-40de-944b-e07fc1f90ae7",
    description="Edit a session's current head instead of a media; the edit joins its history.",
)  # fmt: skip
WAIT = Param(
    name="wait", type="number", default=None, minimum=0, maximum=60.0, example="10",
    description="Hold the answer up to this many seconds, until the edit has finished.",
)  # fmt: skip
PRIORITY = Param(
    name="priority", type="integer", default=0, minimum=-1000, maximum=1000, example="10",
    description="Higher runs sooner; equal priorities run in the order they were asked.",
)  # fmt: skip
FRESH = Param(
    name="fresh", type="boolean", default=False, example="true",
    description="Run it again even if an identical edit (same source bytes, same operations) "
    "has completed; without it, that edit is answered at once (reused: true).",
)  # fmt: skip
CONTROLS = (MEDIA, SESSION, WAIT, PRIORITY, FRESH)
"""POST /edit's own parameters, beside the operations'."""
CONTROL = tuple(control.name for control in CONTROLS)
MAX_WAIT_SECONDS = WAIT.maximum or 0.0


def describe_language(limits: Limits) -> dict[str, Any]:
    """The edit language as data (GET /operations): every operation with its parameters,
    bounded by these limits, and POST /edit's own parameters."""
    return {
        "operations": catalogue().described(limits),
        "controls": [control.described(limits) for control in CONTROLS],
    }


def split_controls(
    items: Sequence[tuple[str, str]], names: Sequence[str]
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A route's own parameters (each at most once) and the operations' parameters."""
    control: dict[str, str] = {}
    for name, value in items:
        if name in names:
            if name in control:
                raise InvalidParameter(
                    name, value, "given more than once", accepted=f"one {name} parameter"
                )
            control[name] = value
    return control, [item for item in items if item[0] not in names]


def parse_wait(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= MAX_WAIT_SECONDS:
        raise InvalidParameter(
            "wait", text, "not a number of seconds in range", accepted=f"0 to {MAX_WAIT_SECONDS:g}"
        )
    return seconds


def parse_fresh(text: str | None) -> bool:
    if text is None or text in ("true", "1", ""):
        return text is not None
    if text in ("false", "0"):
        return False
    raise InvalidParameter("fresh", text, "not a boolean", accepted="true or false")


def parse_priority(text: str | None) -> int:
    if text is None:
        return 0
    priority: int = PRIORITY.read(text)
    return priority


def parse_uuid(parameter: str, text: str | None, *, what: str) -> UUID:
    """`what` is "a media id": accepted is then said as the routes' own checks say it."""
    accepted = f"{what} (a UUID)"
    if not text:
        raise InvalidParameter(parameter, text, "is required", accepted=accepted)
    try:
        return UUID(text)
    except ValueError:
        raise InvalidParameter(parameter, text, "not an id", accepted=accepted) from None
