"""Completions go to PostgreSQL in batches: whatever finished while the last batch was in
flight leaves in the next one, so a busy runner pays one round trip per batch, not per edit,
and an idle one adds no delay. The media rows of the results go in the same statement (the
`complete_edits` query): one round trip and one commit for an edit's results and its end.
A batch that meets a dropped connection or a database that is restarting is sent again
(runner/process/outage.py), for up to the lease: the result is kept, not redone. Sending twice
is safe: a completion already recorded answers Conflict, and undoes the media rows it would
have added again (the same bytes find the rows the first one added). A batch refused for one
edit (no longer held, or a result row the database will not take) is sent again edit by edit,
so the others complete."""

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from runner.process.outage import persistently
from service.domain.library import NewMedia
from service.kernel.db import Database
from service.kernel.errors import EditroomError, Unavailable

log = logging.getLogger(__name__)

Outputs = Sequence[UUID | NewMedia]  # an edit's results: media it names, or new ones to add
_Pending = dict[UUID, tuple[Outputs, int, "asyncio.Future[list[UUID]]"]]


class Completer:
    def __init__(self, database: Database, worker: str, *, patience_seconds: float) -> None:
        self._database = database
        self._worker = worker
        self._patience_seconds = patience_seconds
        self._pending: _Pending = {}
        self._flusher: asyncio.Task[None] | None = None

    async def complete(self, edit_id: UUID, outputs: Outputs, *, trial: int) -> list[UUID]:
        """Mark the edit completed with these outputs (the new ones added to the library);
        returns their media ids. Raises Conflict when this worker no longer holds it in the
        trial it claimed it in."""
        future: asyncio.Future[list[UUID]] = asyncio.get_running_loop().create_future()
        self._pending[edit_id] = (outputs, trial, future)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, {}
            await self._send(batch)

    async def _send(self, batch: _Pending) -> None:
        # New rows in the order of their bytes' hash: two batches adding the same results
        # take their rows' locks in one order, so they cannot deadlock (positions say the
        # order within an edit).
        listed = sorted(
            (
                _listed(edit_id, position, output)
                for edit_id, (outputs, _, _) in batch.items()
                for position, output in enumerate(outputs)
            ),
            key=lambda row: row.get("sha256") or "",
        )
        trials = {str(edit_id): trial for edit_id, (_, trial, _) in batch.items()}
        try:
            rows = await persistently(
                lambda: self._database.fetch_all(
                    "complete_edits",
                    worker=self._worker,
                    outputs=json.dumps(listed),
                    trials=json.dumps(trials),
                ),
                patience_seconds=self._patience_seconds,
            )
        except Unavailable as exc:  # past the lease: the reaper has them anyway
            _settle(batch, exc)
            return
        except EditroomError as exc:
            if len(batch) == 1:
                _settle(batch, exc)
                return
            # One of them was cancelled or reaped meanwhile, or one result's row was refused;
            # the batch was all or nothing, so settle each on its own.
            for edit_id, item in batch.items():
                await self._send({edit_id: item})
            return
        _settle(batch, None, {row["id"]: list(row["outputs"]) for row in rows})


def _listed(edit_id: UUID, position: int, output: UUID | NewMedia) -> dict[str, Any]:
    where = {"edit_id": str(edit_id), "position": position}
    if isinstance(output, NewMedia):
        return {**output.columns, **where}
    return {"id": str(output), **where}


def _settle(
    batch: _Pending, error: Exception | None, outputs: dict[UUID, list[UUID]] | None = None
) -> None:
    for edit_id, (_, _, future) in batch.items():
        if future.done():  # its edit task was cancelled while waiting
            continue
        if error is None:
            future.set_result((outputs or {}).get(edit_id, []))
        else:
            future.set_exception(error)
