"""The runner's loop: wake on NOTIFY or poll, claim what fits, work, heartbeat, complete.

Slots come in lanes, one per kind (image, video, import), each with its own limit: a claim
asks for the free slots of every lane worth asking at once, and each lane with free slots is
watched for wake-ups (runner/process/lanes.py). Claims go out on a connection of their own
(Database.own_connection): the claim a NOTIFY sets off waits for no hand-out from the pool.

NOTIFY is only a hint. A runner behind PgBouncer in transaction mode (where LISTEN does not
work), or whose LISTEN connection dropped, still finds work by polling every
poll_interval_seconds, and still learns of cancellations from its heartbeats.

Enqueues notify only while some runner watches their lane (db/functions/040_edit_triggers.sql,
wake slots): before it waits, a runner holds the wake slots of its lanes with free slots (a
session of its own, after its LISTEN) and claims once more if it took new ones. An edit taken
out of processing other than by its completion (cancelled, failed or reaped under its runner,
released) is always notified; other events only while the service (or a DBA) watches them.

Housekeeping (reaping, archiving, retention, clean-up) runs beside the loop:
runner/process/housekeeping.py.

An outage of the database or the store pauses claiming and hands back the attempts it broke
without costing them a trial (runner/process/outage.py).
"""

import asyncio
import json
import logging
import os
import socket
import time
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from runner.process.completer import Completer, Outputs
from runner.process.execute import ClaimedEdit, Execute
from runner.process.heartbeats import Heartbeats
from runner.process.housekeeping import cleanup_loop, maintenance_loop
from runner.process.lanes import QUEUE_CHANNEL, Lanes, lane_slots
from runner.process.metrics import (
    ABANDONED,
    CANCELLED,
    COMPLETED,
    LOST,
    RELEASED,
    RunnerMetrics,
)
from runner.process.outage import OUTAGE_ERRORS, Outage, persistently
from service.domain.scratch import remove_dead_scratch_at_start
from service.kernel.db import Database
from service.kernel.errors import DatabaseUnavailable, EditroomError, Unavailable, described
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "editroom_edit_events"
LISTEN_RETRY_SECONDS = 0.25  # after PostgreSQL restarts, idle runners wake on NOTIFY again soon


HELD = "held"  # _why_not_held: still this runner's (never an outcome of its own)


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Runner:
    def __init__(
        self,
        *,
        database: Database,
        storage: Storage,
        settings: Settings,
        execute: Execute,
        concurrency: int | None = None,
        metrics: RunnerMetrics | None = None,
    ) -> None:
        self.name = settings.runner_name or default_worker_name()
        self._database = database
        self._storage = storage
        self._settings = settings
        self._lanes = Lanes(
            slots=lane_slots(settings, image=concurrency),
            watch=database.wake_slots(),  # a lane at a time: lane_channel(lane)
            worker=self.name,
        )
        self._claims = database.own_connection()  # a wake-up's claim waits for no pool
        self._lease = timedelta(seconds=settings.lease_seconds)
        self._execute = execute
        self._completer = Completer(database, self.name, patience_seconds=settings.lease_seconds)
        self._outage = Outage(database=database, storage=storage)
        self._working: dict[UUID, asyncio.Task[None]] = {}
        self._beats = Heartbeats(
            database=database, worker=self.name, settings=settings, lost=self._lost
        )
        self._stopped: dict[UUID, str] = {}  # edits whose task we cancelled: the outcome
        self.metrics = metrics or RunnerMetrics()
        self.metrics.track_slots(
            busy=lambda: len(self._working), concurrency=sum(self._lanes.slots.values())
        )
        self.metrics.track_lanes(slots=self._lanes.slots, busy=self._lanes.busy)
        self._wake = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Stop claiming; run() returns once the edits in flight are settled."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        log.info("runner started", extra={"worker": self.name, "slots": self._lanes.slots})
        await remove_dead_scratch_at_start(self._database, self._settings.edits_dir)
        helpers = [
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._beats.loop()),
            asyncio.create_task(maintenance_loop(self._database, self._settings)),
            asyncio.create_task(cleanup_loop(self._database, self._storage, self._settings)),
        ]
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._lanes.close()
            await self._claims.close()
        log.info("runner stopped", extra={"worker": self.name})

    # Claiming

    async def _claim_loop(self) -> None:
        lanes = self._lanes
        while not self._stopping:
            if self._outage.active:
                await self._outage.wait_over()
                lanes.hear_news()  # what the outage handed back, unannounced to us
                await lanes.check()  # a restart took the watch's session and its locks
                continue
            self._wake.clear()
            free = lanes.free()
            wanted = lanes.worth_claiming(free)
            if wanted and await self._claim(wanted):
                continue  # a lane got all it asked for: there may be more waiting
            if await lanes.watch(free):
                continue  # claim once more: from now on its enqueues wake us
            await self._wait()

    async def _wait(self) -> None:
        """Until woken or the poll is due; a poll also checks the queue watch's session."""
        try:
            async with asyncio.timeout(self._settings.poll_interval_seconds):
                await self._wake.wait()  # in this task: no task of its own to hop through
        except TimeoutError:
            self._lanes.hear_news()  # what became claimable unannounced (a back-off ran out)
            await self._lanes.check()

    async def _claim(self, free: dict[str, int]) -> bool:
        """Claim up to `free` edits of each lane; whether a lane got all it asked for."""
        news = self._lanes.news()
        try:
            with self.metrics.claiming():
                rows = await self._claims.fetch_all(
                    "claim_edits", worker=self.name, kinds=list(free), limits=list(free.values()),
                    lease=self._lease,
                )  # fmt: skip
        except DatabaseUnavailable as exc:
            log.warning("cannot claim edits", extra={"worker": self.name, "error": str(exc)})
            self._outage.begin(exc)
            return False
        for row in rows:
            edit = ClaimedEdit.from_row(row)
            self.metrics.claimed(
                kind=edit.kind,
                trial=edit.trial,
                created_at=row["created_at"],
                started_at=row["started_at"],
            )
            self._start(edit)
        return self._lanes.came_back(free, Counter(str(row["kind"]) for row in rows), news)

    def _start(self, edit: ClaimedEdit) -> None:
        task = asyncio.create_task(self._process(edit))
        self._working[edit.id] = task
        self._beats.begin(edit.id, edit.trial)
        self._lanes.busy[edit.kind] += 1

        def finished(_task: asyncio.Task[None]) -> None:
            self._lanes.busy[edit.kind] -= 1
            self._working.pop(edit.id, None)
            self._beats.end(edit.id)
            self._stopped.pop(edit.id, None)
            self._wake.set()

        task.add_done_callback(finished)

    # Working

    async def _process(self, edit: ClaimedEdit) -> None:
        # Debug: every attempt's end is logged at info with its outcome and trial (_fields),
        # and a runner's no-op edits are a few hundred microseconds each, logs included.
        log.debug(
            "edit started", extra={"edit_id": str(edit.id), "kind": edit.kind, "trial": edit.trial}
        )
        started = time.monotonic()
        outcome = ABANDONED
        try:
            outcome = await self._attempt(edit)
        except asyncio.CancelledError:
            outcome = self._stopped.get(edit.id, ABANDONED)
            raise
        finally:
            seconds = time.monotonic() - started
            self.metrics.finished(kind=edit.kind, outcome=outcome, seconds=seconds)

    async def _attempt(self, edit: ClaimedEdit) -> str:
        """Execute the edit and record how it went; returns the outcome."""
        try:
            outputs = await self._execute(edit, self._beats.reporter(edit.id))
        except OUTAGE_ERRORS as exc:  # not the edit's doing: no trial of its is spent on it
            return await self._hand_back(edit, exc)
        except EditroomError as exc:  # each class says whether a retry may mend it
            return await self._fail(edit, str(exc), retryable=exc.retryable)
        except Exception as exc:  # the edit's boundary: whatever went wrong, the runner lives on
            # Not the media's doing (that is judged in the sandboxed child): our disk, a
            # connection, a bug. Worth another trial; the message names no server path.
            log.exception("edit raised", extra={"edit_id": str(edit.id), "worker": self.name})
            return await self._fail(edit, described(exc), retryable=True)
        return await self._complete(edit, outputs)

    async def _complete(self, edit: ClaimedEdit, outputs: Outputs) -> str:
        await self._beats.report_last_detail(edit.id)
        self._beats.finishing(edit.id)  # no more heartbeats or stops
        try:
            await self._completer.complete(edit.id, outputs, trial=edit.trial)
        except EditroomError as exc:
            outcome = await self._why_not_held(edit.id, trial=edit.trial)
            if outcome == COMPLETED:
                log.info("edit completed", extra=_fields(edit, COMPLETED))
                return COMPLETED
            if outcome == HELD:  # still ours: the database refused the result itself
                return await self._fail(edit, str(exc), retryable=exc.retryable)
            log.warning("result discarded", extra=_fields(edit, outcome, reason=str(exc)))
            return outcome
        log.info("edit completed", extra=_fields(edit, COMPLETED))
        return COMPLETED

    async def _hand_back(self, edit: ClaimedEdit, error: Unavailable) -> str:
        """The database or the store failed this attempt: pause claiming, and queue the edit
        again at once with its trial given back (release_edit), once the database answers."""
        self._outage.begin(error)
        self._beats.finishing(edit.id)  # its own release event must not stop it
        try:
            rows = await self._persistently(
                "release_edits", worker=self.name, ids=[edit.id], trials=[edit.trial]
            )
        except EditroomError as exc:
            outcome = await self._why_not_held(edit.id)
            log.warning("cannot hand back", extra=_fields(edit, outcome, reason=str(exc)))
            return outcome
        if not rows or not rows[0]["released"]:
            return await self._why_not_held(edit.id)
        log.info("edit handed back", extra=_fields(edit, RELEASED, error=str(error)))
        return RELEASED

    async def _persistently(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """A query that ends an attempt: retried while the database is unavailable, for up to
        the lease (after that, the reaper has the edit anyway)."""
        return await persistently(
            lambda: self._database.fetch_all(query, **params),
            patience_seconds=self._settings.lease_seconds,
        )

    async def _fail(self, edit: ClaimedEdit, message: str, *, retryable: bool) -> str:
        self._beats.finishing(edit.id)  # its own failure event must not stop it
        try:
            rows = await self._persistently(
                "fail_edit",
                id=edit.id,
                worker=self.name,
                error=message,
                retryable=retryable,
                trial=edit.trial,
            )
            row = rows[0] if rows else None
        except EditroomError as exc:
            outcome = await self._why_not_held(edit.id)
            log.warning("cannot record failure", extra=_fields(edit, outcome, reason=str(exc)))
            return outcome
        assert row is not None
        outcome = str(row["status"])  # error (to be retried) or failed
        log.info("edit failed", extra=_fields(edit, outcome, error=message))
        return outcome

    async def _why_not_held(self, edit_id: UUID, *, trial: int | None = None) -> str:
        """Why this runner could not finish an edit: CANCELLED, COMPLETED (given the `trial`
        it completed it in: completed in that trial, only this runner could have: an earlier
        try of the completion got through, its answer lost with the connection), HELD (given
        the trial: it is still this runner's, in that trial: what was refused was not the
        hold), or LOST (reaped, gone, or the database unreachable: the lease runs out)."""
        try:
            row = await self._database.fetch_one("edit_by_id", id=edit_id)
        except EditroomError:
            return LOST
        if row is None:
            return LOST
        if trial is not None and row["trial"] == trial:
            if row["status"] == "completed":
                return COMPLETED
            if row["status"] == "processing" and row["locked_by"] == self.name:
                return HELD
        return CANCELLED if row["status"] == "cancelled" else LOST

    async def _lost(self, edit_id: UUID) -> None:
        """A heartbeat found the edit no longer this runner's: stop it."""
        outcome = await self._why_not_held(edit_id)
        self._stop_working_on(edit_id, outcome, "its lease is gone (cancelled or reaped)")

    def _stop_working_on(self, edit_id: UUID, outcome: str, reason: str) -> None:
        task = self._working.get(edit_id)
        if task is not None and self._beats.executing(edit_id):
            log.info(
                "stopping edit",
                extra={"edit_id": str(edit_id), "outcome": outcome, "reason": reason},
            )
            self._beats.finishing(edit_id)
            self._stopped[edit_id] = outcome
            task.cancel()  # kills its sandboxed child

    # Listening

    async def _listen(self) -> None:
        while True:
            try:
                async with self._database.listen(QUEUE_CHANNEL, EVENTS_CHANNEL) as notifications:
                    self._lanes.hear_news()  # whatever was queued while we were not listening
                    await self._lanes.check()  # lost with the LISTEN, the watch is taken again
                    self._wake.set()
                    async for notification in notifications:
                        self._notified(notification.channel, notification.payload)
                        # What it woke (the claim loop) runs first: it sends its claim before
                        # this task sets up its wait for the next notification (~50 us).
                        await asyncio.sleep(0)
            except DatabaseUnavailable as exc:
                log.warning("LISTEN lost, polling meanwhile", extra={"error": str(exc)})
            await asyncio.sleep(LISTEN_RETRY_SECONDS)

    def _notified(self, channel: str, payload: str) -> None:
        if channel == QUEUE_CHANNEL:
            self._lanes.hear_news()
            self._wake.set()
            return
        for event in json.loads(payload):  # a statement's events, one notification
            edit_id = UUID(event["id"])
            if not self._beats.executing(edit_id) or event["status"] == "processing":
                continue
            # Of an earlier trial, it is news from before our claim: the enqueue's `queued`
            # can arrive after an edit claimed at once (another wake-up) is ours.
            if (event["trial"] or 0) >= self._beats.trial(edit_id):
                outcome = CANCELLED if event["status"] == "cancelled" else LOST
                self._stop_working_on(edit_id, outcome, f"it is {event['status']}")

    # Housekeeping

    async def _drain(self) -> None:
        working = dict(self._working)
        if not working:
            return
        log.info("finishing edits in flight", extra={"count": len(working)})
        _done, unfinished = await asyncio.wait(
            working.values(), timeout=self._settings.shutdown_grace_seconds
        )
        given_up = {i: self._beats.trial(i) for i, task in working.items() if task in unfinished}
        for edit_id in given_up:
            working[edit_id].cancel()  # kills its sandboxed child
        await asyncio.gather(*working.values(), return_exceptions=True)
        await self._release(given_up)

    async def _release(self, edit_ids: dict[UUID, int]) -> None:
        """Hand back what the shutdown gave up on: queued at once, no trial lost. Should the
        database be unreachable, the leases run out and the reaper takes them instead."""
        if not edit_ids:
            return
        try:
            rows = await self._database.fetch_all(
                "release_edits",
                worker=self.name,
                ids=list(edit_ids),
                trials=list(edit_ids.values()),
            )
        except EditroomError as exc:
            log.warning("cannot release edits", extra={"worker": self.name, "error": str(exc)})
            return
        for row in rows:
            log.info(
                "edit released" if row["released"] else "edit no longer held, not released",
                extra={"edit_id": str(row["id"]), "outcome": ABANDONED, "worker": self.name},
            )


def _fields(edit: ClaimedEdit, outcome: str, **more: str) -> dict[str, str]:
    """A finished attempt's log keys: the same names as the metric labels, and its trial."""
    return {
        "edit_id": str(edit.id),
        "kind": edit.kind,
        "trial": str(edit.trial),
        "outcome": outcome,
        **more,
    }
