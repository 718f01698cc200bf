"""Back-pressure: beyond EDITROOM_MAX_QUEUED edits waiting to run, new ones are refused with a
429 and Retry-After, so a flood of requests cannot grow the queue without bound. The count
comes from editroom.status_counts() (counters the triggers keep, never a count of the table),
so asking costs one small query per enqueue."""

from service.kernel.db import Database
from service.kernel.errors import TooManyQueued
from service.kernel.wording import counted

WAITING = frozenset({"queued", "error"})  # claimable now, or after a retry's back-off


async def admit(database: Database, *, max_queued: int, adding: int = 1) -> None:
    """Raise TooManyQueued when `adding` more edits would take the queue past max_queued."""
    rows = await database.fetch_all("status_counts")
    waiting = sum(int(row["count"]) for row in rows if row["status"] in WAITING)
    refuse_when_full(waiting, max_queued=max_queued, adding=adding)


def refuse_when_full(waiting: int, *, max_queued: int, adding: int = 1) -> None:
    """The same check, for a caller that read how many wait with a query of its own."""
    if waiting + adding > max_queued:
        raise TooManyQueued(
            f"the queue holds {counted(waiting, 'edit')} waiting to run, and this server accepts "
            f"at most {max_queued:,} (EDITROOM_MAX_QUEUED); try again once runners have caught up"
        )


async def admit_import(database: Database, *, max_queued_imports: int) -> None:
    """Raise TooManyQueued when EDITROOM_MAX_QUEUED_IMPORTS imports already wait to run. An
    import may hold a runner's import slot for its whole time limit, so a flood of them would
    otherwise fill EDITROOM_MAX_QUEUED and every edit be refused until they drained. Counted,
    then queued: imports asked for at once may pass it by a few."""
    row = await database.fetch_one("imports_waiting", limit=max_queued_imports)
    assert row is not None
    if row["waiting"] >= max_queued_imports:
        raise TooManyQueued(
            f"the queue holds {counted(max_queued_imports, 'import')} waiting to run, the most "
            "this server accepts (EDITROOM_MAX_QUEUED_IMPORTS); try again once runners have "
            "caught up"
        )
