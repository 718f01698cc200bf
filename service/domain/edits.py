"""Edits as the API sees them: made from a query string (validated whole before anything is
queued), read, listed, cancelled, waited for and followed. The request's own parameters beside
its operations (media, session, wait, priority, fresh) are read by edit_controls.py."""

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from runner.engine.image.format import Format
from runner.engine.ops.base import Limits, MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from service.domain.admission import admit
from service.domain.cursors import Page, keyset_page
from service.domain.edit_controls import (
    CONTROL,
    describe_language,
    parse_fresh,
    parse_priority,
    parse_uuid,
    split_controls,
)
from service.domain.events import EditEvents, Shared, Subscription
from service.domain.idempotency import Made, fingerprint, made_once
from service.domain.media_to_edit import MediaToEdit
from service.domain.ops_refs import check_references
from service.domain.session_steps import (
    SESSION_PLANS,
    enqueue_step,
    next_input,
    no_such_session,
    session_controls,
    session_plan,
)
from service.domain.sound_alone import refuse_sound_alone, refuse_sound_alone_head
from service.domain.source_facts import refuse_impossible, refuse_impossible_step
from service.kernel.db import Database, Row
from service.kernel.errors import NotFound, SessionMoved
from service.kernel.metrics import ServiceMetrics
from service.kernel.settings import Settings

FINISHED = frozenset({"completed", "failed", "cancelled"})
Answer = Callable[[Row], Awaitable[Row]]  # Edits.waiting()
KEEPALIVE_SECONDS = 15.0


def resolve_auto(operations: list[Operation], accept: str) -> list[Operation]:
    """format=auto made concrete from the request's Accept header, so the edit records the
    format it will have (with auto: true), and the same request is the same edit."""
    return [op.resolved(accept) if isinstance(op, Format) else op for op in operations]


class Edits:
    def __init__(
        self,
        *,
        database: Database,
        events: EditEvents,
        settings: Settings,
        metrics: ServiceMetrics,
    ) -> None:
        self._database = database
        self._events = events
        self._settings = settings
        self._metrics = metrics
        self.limits = Limits.from_settings(settings)
        self._sources = MediaToEdit(database, max_queued=settings.max_queued)
        self._reread: Shared[Row] = Shared(events)  # by every waiter on the edit at once

    async def create(
        self,
        items: Sequence[tuple[str, str]],
        *,
        accept: str = "",
        idempotency_key: str | None = None,
        durable: bool = True,
    ) -> Made:
        """POST /edit: every parameter checked, then one edit enqueued (or joined, or reused).
        `accept`: the request's Accept header, which format=auto is resolved from. A full
        queue is refused (429) before the media is read, the cheapest answer when a flood is
        on; for a media the service remembers (MediaToEdit), in the statement that makes the
        edit, after the operations are checked. With an `idempotency_key`, once the key is
        known to be new (a replay is never refused).
        `durable`: see create_once.
        A session's step is made only if the session is still as it was planned against;
        else it is planned again (session_steps.py)."""
        control, rest = split_controls(items, CONTROL)
        if "session" not in control:
            request, enqueue = await self._planned(
                control, rest, accept=accept, admit_here=idempotency_key is None,
                durable=durable,
            )  # fmt: skip
            return await self._made_once(request, enqueue, key=idempotency_key)
        if idempotency_key is None:
            await self._admit()
        for _ in range(SESSION_PLANS - 1):
            with contextlib.suppress(SessionMoved):
                return await self._made_in_session(
                    control, rest, accept=accept, key=idempotency_key
                )
        return await self._made_in_session(control, rest, accept=accept, key=idempotency_key)

    async def _made_in_session(
        self,
        control: dict[str, str],
        rest: Sequence[tuple[str, str]],
        *,
        accept: str,
        key: str | None,
    ) -> Made:
        """A session's step, made once per `key` (_made_once). The request's fingerprint is
        its query as written, and the step is planned once the key is known to be new: a
        replay answers what the first request made, whatever the session has become since
        (its head sound alone, or images, which would refuse or read the operations
        otherwise)."""
        session_id, priority = session_controls(control)
        request = fingerprint(
            "POST /edit", session=session_id, query=list(rest), accept=accept,
            priority=priority,
        )  # fmt: skip

        async def enqueue() -> Row:
            return await self._step(session_id, rest, accept=accept, priority=priority)

        return await self._made_once(request, enqueue, key=key)

    async def _made_once(
        self, request: str, enqueue: Callable[[], Awaitable[Row]], *, key: str | None
    ) -> Made:
        """The edit enqueue() makes, once per Idempotency-Key `key` (made_once); with a key,
        a full queue is refused only once the key is known to be new (a replay never is).
        Raising (SessionMoved) undoes the key's taking with the rest."""

        async def make() -> Made:
            if key is not None:
                await self._admit()
            return Made([await enqueue()])

        return await made_once(
            self._database, key=key, request=request, make=make,
            window_seconds=self._settings.idempotency_window_seconds,
        )  # fmt: skip

    async def _admit(self) -> None:
        await admit(self._database, max_queued=self._settings.max_queued)

    async def _planned(
        self,
        control: dict[str, str],
        rest: Sequence[tuple[str, str]],
        *,
        accept: str,
        admit_here: bool,
        durable: bool,
    ) -> tuple[str, Callable[[], Awaitable[Row]]]:
        """The request's fingerprint, and how to enqueue its edit of a media. `admit_here`:
        refuse a full queue in the media's look-up (one round trip for both), or, for a
        media the service knows, in the statement that makes the edit (no look-up)."""
        media_id = parse_uuid("media", control.get("media"), what="a media id")
        known = self._sources.known(media_id) if admit_here else None
        media = known or await self._sources.look_up(media_id, admit=admit_here)
        operations = resolve_auto(self.parse(MediaKind(media["kind"]), rest), accept)
        fresh = parse_fresh(control.get("fresh"))
        priority = parse_priority(control.get("priority"))
        request = fingerprint(
            "POST /edit", media=media_id, ops=[op.as_json() for op in operations],
            fresh=fresh, priority=priority,
        )  # fmt: skip
        return request, lambda: self.create_once(
            media, operations, fresh=fresh, priority=priority, durable=durable,
            admit=known is not None,
        )  # fmt: skip

    async def create_once(
        self,
        media: Row,
        operations: list[Operation],
        *,
        fresh: bool = False,
        priority: int = 0,
        durable: bool = True,
        admit: bool = False,
        by_address: bool = False,
    ) -> Row:
        """The edit of `media` by `operations`, made once: an identical one still to run is
        joined, a completed one reused (unless `fresh`); the row says which (`reused`).
        `admit`: refuse a full queue, and a media no longer there, in the same statement.
        `by_address`: asked for by its result address only (results.py); a new edit is then
        marked a copy (by_address), and any other request that finds it clears the mark, in
        the same statement (editroom.enqueue_edit_once).
        A media without a picture (sound alone) is refused first, then an operation its
        facts make impossible (source_facts.py).

        durable=False, for a caller that waits for the edit (waiting(), wait()) before it
        answers: the new edit's commit does not wait for the disk, which saves a flush on the
        way to the runner. Whatever a wait answers is durable by then: a finished edit's last commit
        (synchronous: complete_edits, fail_edit, cancel) flushed the log up to it, and an
        unfinished one is flushed before it is answered."""
        refuse_sound_alone(media)
        refuse_impossible(media, operations, limits=self.limits)
        inputs = await check_references(self._database, operations)
        kind = MediaKind(media["kind"])
        key = edit_key(kind=kind, source_sha256=media["sha256"], operations=operations,
                       inputs=inputs)  # fmt: skip
        enqueue = {
            "media_id": media["id"], "edit_key": key, "fresh": fresh, "priority": priority,
            "ops": json.dumps([operation.as_json() for operation in operations]),
            "max_trials": self._settings.edit_max_trials, "durable": durable,
            "by_address": by_address,
        }  # fmt: skip
        with self._metrics.enqueueing():
            if admit:
                made: Row | None = await self._sources.enqueue_admitted(**enqueue)
            else:
                made = await self._database.fetch_one("enqueue_edit_once", **enqueue)
        assert made is not None
        self._metrics.answered([made], kind=kind.value)
        return made

    async def _step(
        self,
        session_id: UUID,
        rest: Sequence[tuple[str, str]],
        *,
        accept: str,
        priority: int,
    ) -> Row:
        """The session's next step: checked and parsed against the session as read now, made
        only if the session is still so (SessionMoved otherwise)."""
        state = await session_plan(self._database, session_id)
        if state is None:
            raise no_such_session(session_id)
        kind, picture = next_input(state)
        refuse_sound_alone_head(session_id, picture=picture)
        operations = resolve_auto(self.parse(kind, rest), accept)
        refuse_impossible_step(state, operations, limits=self.limits)
        await check_references(self._database, operations)
        with self._metrics.enqueueing():
            row = await enqueue_step(
                self._database, state=state, priority=priority,
                ops=json.dumps([operation.as_json() for operation in operations]),
                max_trials=self._settings.edit_max_trials,
            )  # fmt: skip
        self._metrics.answered([row], kind=kind.value)
        return row

    def parse(
        self,
        kind: MediaKind,
        items: Sequence[tuple[str, str]],
        *,
        controls: Sequence[str] = CONTROL,
    ) -> list[Operation]:
        return parse_query(catalogue(), kind, items, limits=self.limits, controls=controls)

    def language(self) -> dict[str, Any]:
        return describe_language(self.limits)

    async def get(self, edit_id: UUID) -> Row:
        row = await self._database.fetch_one("edit_by_id", id=edit_id)
        if row is None:
            raise NotFound(f"edit {edit_id} does not exist")
        return row

    async def page(
        self,
        *,
        status: str | None,
        media_id: UUID | None,
        session_id: UUID | None,
        by_address: bool | None = None,
        limit: int,
        cursor: str | None,
    ) -> Page:
        """Newest first; every filter optional (by_address: made by a result address only,
        or not)."""
        return await keyset_page(
            self._database, "list_edits", limit=limit, cursor=cursor,
            status=status, media_id=media_id, session_id=session_id, by_address=by_address,
        )  # fmt: skip

    async def status_counts(self) -> list[Row]:
        """How many edits are in each status, zeros included (editroom.status_counts())."""
        return await self._database.fetch_all("status_counts")

    async def cancel(self, edit_id: UUID) -> Row:
        row = await self._database.fetch_one("cancel_edit", id=edit_id)
        assert row is not None
        return row

    async def retry(self, edit_id: UUID) -> Row:
        """A failed or cancelled edit queued again with one more trial (Conflict otherwise),
        admitted as a new one is (EDITROOM_MAX_QUEUED): cancelling and retrying in bulk is
        no way past the queue's limit."""
        await self._admit()
        row = await self._database.fetch_one("retry_edit", id=edit_id)
        assert row is not None
        return row

    async def wait(self, edit_id: UUID, seconds: float) -> Row:
        """The edit once it has finished, or as it is after `seconds` or when the service
        begins to stop (then durable: see create_once). It is read again only when a
        notification may have finished it: one saying it is processing (or retrying) costs no
        query."""
        async with self._events.subscribe(edit_id) as subscription:
            return await self._waited(await self.get(edit_id), subscription, seconds)

    @asynccontextmanager
    async def waiting(self, seconds: float | None) -> AsyncIterator[Answer]:
        """Around the making of an edit to be waited for up to `seconds` (None or 0: not
        waited for); yields how to answer with it: `await answer(row)`, the row its making
        returned, is the edit once it has finished, or as it is after `seconds` or at
        shutdown (then durable: see create_once). Subscribed before the edit is made, so
        that row is where the wait starts: it is read again only once a notification may
        have finished it, one round trip fewer than wait()."""
        if not seconds:
            yield _as_it_is
            return
        async with self._events.subscribe() as subscription:

            async def answer(row: Row) -> Row:
                self._events.bind(subscription, row["id"])
                return await self._waited(row, subscription, seconds)

            yield answer

    async def _waited(self, row: Row, subscription: Subscription, seconds: float) -> Row:
        row = await self._wait(row, subscription, seconds)
        if row["status"] not in FINISHED:  # made by create_once(durable=False), perhaps
            await self._database.fetch_one("flush_commits")
        return row

    async def _wait(self, row: Row, subscription: Subscription, seconds: float) -> Row:
        deadline = time.monotonic() + seconds
        while row["status"] not in FINISHED and not self._events.closing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return row
            try:
                await asyncio.wait_for(subscription.changed.wait(), remaining)
            except TimeoutError:
                return await self._read_again(row["id"])
            announced = subscription.take()  # empty: one may have been missed
            if not announced or any(s["status"] in FINISHED for s in announced):
                row = await self._read_again(row["id"])
        return row

    async def _read_again(self, edit_id: UUID) -> Row:
        """The edit as it is now, for a subscriber to it: one read for all those reading it
        again in one generation of the events (a hundred requests for one result address
        that joined one edit read it once when it completes). Each gets its own copy."""
        return dict(await self._reread.read(edit_id, lambda: self.get(edit_id)))

    async def follow(self, edit_id: UUID) -> AsyncIterator[Row | None]:
        """The edit now, then each time it changes, until it has finished or the service is
        stopping. None: nothing changed for a while (a keep-alive is due).

        A state the edit had already left when it was read (a fast edit's `processing`) is
        told as its notification announced it: status, trial and progress over the edit as
        last read. Only states later than the last one told are told, so none goes back."""
        async with self._events.subscribe(edit_id) as subscription:
            last: Row | None = None
            while True:
                announced = subscription.take()
                row = await self._read_again(edit_id)
                for state in announced:
                    if last is not None and _order(last) < _order(state) < _order(row):
                        last = {**last, **state}
                        yield last
                if row != last:
                    yield row
                    last = row
                if row["status"] in FINISHED or self._events.closing:
                    return
                try:
                    await asyncio.wait_for(subscription.changed.wait(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield None


async def _as_it_is(row: Row) -> Row:
    return row


_STATUS_ORDER = {"queued": 0, "processing": 1, "error": 2}  # then the finished ones: 3


def _order(state: Row) -> tuple[int, int, float]:
    """Where a state lies in an edit's life: by trial, then status, then progress."""
    return (
        state["trial"] or 0,
        _STATUS_ORDER.get(state["status"], 3),
        state["progress"] if state["progress"] is not None else -1.0,
    )


def edit_key(
    *,
    kind: MediaKind,
    source_sha256: str,
    operations: Sequence[Operation],
    inputs: Sequence[str] = (),
) -> str:
    """What makes two edits the same edit: the bytes they read (the source's SHA-256, and
    those of the media operations such as concat or overlay read: `inputs`), the kind they
    are read as, and the operations in canonical form (parsed, defaults filled, format=auto
    resolved), hashed with SHA-256."""
    canonical = json.dumps(
        {"kind": kind.value, "source": source_sha256, "inputs": list(inputs),
         "ops": [operation.as_json() for operation in operations]},
        sort_keys=True, separators=(",", ":"),
    )  # fmt: skip
    return hashlib.sha256(canonical.encode()).hexdigest()
