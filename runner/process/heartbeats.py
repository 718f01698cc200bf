"""Heartbeats: what a runner tells the database of the edits it is executing.

Each edit in flight has the trial it was claimed in (its attempt's fence), the progress and
detail its job reports, and what the database last heard of them. Every
progress_interval_seconds the edits whose progress changed are reported, and every
heartbeat_seconds all of them, which extends their leases: one statement for them all
(heartbeat_edits). An edit the database no longer gives this runner (cancelled, reaped,
failed by hand) goes to `lost`, which stops it. An edit that is finishing (completing,
failing, handed back) or was stopped gets no more heartbeats."""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from runner.engine.sandbox import Report
from service.kernel.db import Database
from service.kernel.errors import EditroomError
from service.kernel.settings import Settings

log = logging.getLogger(__name__)

State = tuple[float, dict[str, Any] | None]  # progress, detail
Lost = Callable[[UUID], Awaitable[None]]


class Heartbeats:
    def __init__(self, *, database: Database, worker: str, settings: Settings, lost: Lost) -> None:
        self._database = database
        self._worker = worker
        self._settings = settings
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._lost = lost
        self._trials: dict[UUID, int] = {}  # every edit in flight: the trial it was claimed in
        self._progress: dict[UUID, float] = {}  # those still executing: heartbeats go to these
        self._details: dict[UUID, dict[str, Any]] = {}  # what else their progress says
        self._reported: dict[UUID, State] = {}  # what the database last heard

    def begin(self, edit_id: UUID, trial: int) -> None:
        self._trials[edit_id] = trial
        self._progress[edit_id] = 0.0

    def reporter(self, edit_id: UUID) -> Report:
        """What the edit's job calls with its progress (0-1) and detail, as often as it likes:
        heartbeats send the latest."""

        def report(fraction: float | None, detail: dict[str, Any] | None = None) -> None:
            if edit_id not in self._progress:
                return
            if fraction is not None:
                self._progress[edit_id] = min(max(fraction, 0.0), 1.0)
            if detail is not None:
                self._details[edit_id] = detail

        return report

    def executing(self, edit_id: UUID) -> bool:
        return edit_id in self._progress

    def trial(self, edit_id: UUID) -> int:
        return self._trials[edit_id]

    def finishing(self, edit_id: UUID) -> None:
        """No more heartbeats, nor stops: the edit is finishing, or was stopped."""
        self._progress.pop(edit_id, None)

    def end(self, edit_id: UUID) -> None:
        for held in (self._trials, self._progress, self._details):
            held.pop(edit_id, None)

    async def report_last_detail(self, edit_id: UUID) -> None:
        """A quick job can finish between two progress ticks: its last detail (an import's
        byte count) is recorded before it completes, so the finished edit says it."""
        if edit_id in self._details and self._reported.get(edit_id) != self._state(edit_id):
            with contextlib.suppress(EditroomError):
                self._reported.update(await self._beat([edit_id]))

    async def loop(self) -> None:
        reported = self._reported
        last_full_beat = time.monotonic()
        while True:
            await asyncio.sleep(self._settings.progress_interval_seconds)
            full = time.monotonic() - last_full_beat >= self._settings.heartbeat_seconds
            ids = [i for i in self._progress if full or reported.get(i) != self._state(i)]
            if full:
                last_full_beat = time.monotonic()
            try:
                reported.update(await self._beat(ids))
            except EditroomError as exc:
                log.warning("heartbeat failed", extra={"worker": self._worker, "error": str(exc)})
            for gone in set(reported) - set(self._progress):
                del reported[gone]

    def _state(self, edit_id: UUID) -> State:
        return self._progress.get(edit_id, 0.0), self._details.get(edit_id)

    async def _beat(self, ids: list[UUID]) -> dict[UUID, State]:
        """Extend the leases of these edits and record their progress; stop any we lost."""
        if not ids:
            return {}
        states = {edit_id: self._state(edit_id) for edit_id in ids}
        rows = await self._database.fetch_all(
            "heartbeat_edits",
            worker=self._worker,
            ids=ids,
            trials=[self._trials.get(edit_id) for edit_id in ids],
            progress=[progress for progress, _ in states.values()],
            details=[None if d is None else json.dumps(d) for _, d in states.values()],
            lease=self._lease,
        )
        for row in rows:
            if not row["held"] and row["id"] in self._progress:
                await self._lost(row["id"])
        return states
