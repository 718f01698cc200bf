"""`uploadedAt`: a day (`2026-11-23`), or `FROM..TO` where either side may be empty and each is
a date or an ISO datetime (UTC unless it carries an offset). Both ends are inclusive: a date
TO covers its whole day. The result is a half-open range [since, before); a TO at the last
moment a datetime holds (9999-12-31) leaves `before` open, since nothing comes after it."""

import re
from datetime import UTC, date, datetime, time, timedelta

from service.kernel.errors import InvalidParameter
from service.kernel.excerpt import excerpt

PARAMETER = "uploadedAt"
ACCEPTED = (
    "a day (2026-11-23) or FROM..TO, each side a date or ISO datetime, either may be empty; "
    "an offset's + sent as %2B (2026-11-23T10:00%2B01:00)"
)
# A datetime whose offset's + arrived as a space: a bare + in a query string means a space.
_PLUS_AS_SPACE = re.compile(r"\d \d{2}(:?\d{2})?$")
ONE_MICROSECOND = timedelta(microseconds=1)
ONE_DAY = timedelta(days=1)

TimeRange = tuple[datetime | None, datetime | None]


def parse_uploaded_at(text: str) -> TimeRange:
    if ".." not in text:
        day_starts = _midnight(_date(text))
        return day_starts, _after(day_starts, ONE_DAY)
    left, right = (side.strip() for side in text.split("..", 1))
    if not left and not right:
        raise InvalidParameter(
            PARAMETER, text, "a range needs at least one side", accepted=ACCEPTED
        )
    since = _start(left, text) if left else None
    before = _end(right, text) if right else None
    if since is not None and before is not None and since >= before:
        raise InvalidParameter(
            PARAMETER, text, "the range ends before it starts", accepted=ACCEPTED
        )
    return since, before


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidParameter(PARAMETER, text, "not a day", accepted=ACCEPTED) from None


def _start(side: str, whole: str) -> datetime:
    moment = _moment(side, whole)
    if isinstance(moment, datetime):  # first: a datetime is also a date
        return moment
    return _midnight(moment)


def _end(side: str, whole: str) -> datetime | None:
    moment = _moment(side, whole)
    if isinstance(moment, datetime):
        return _after(moment, ONE_MICROSECOND)
    return _after(_midnight(moment), ONE_DAY)


def _after(moment: datetime, step: timedelta) -> datetime | None:
    """The exclusive end just past an inclusive one; None (no end) when that lies beyond the
    last moment a datetime holds: everything uploaded is before it."""
    try:
        return moment + step
    except OverflowError:
        return None


def _moment(side: str, whole: str) -> date | datetime:
    try:
        if "T" not in side and " " not in side and len(side) <= 10:
            return date.fromisoformat(side)
        moment = datetime.fromisoformat(side)
    except ValueError:
        problem = f"{excerpt(side)!r} is not a date or datetime"
        if _PLUS_AS_SPACE.search(side):
            problem += " (its offset's + arrived as a space: send it as %2B)"
        raise InvalidParameter(PARAMETER, whole, problem, accepted=ACCEPTED) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
