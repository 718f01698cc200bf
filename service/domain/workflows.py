"""Workflows as the API sees them: a name and operations, checked by the same code as /edit
for each media kind (so a workflow that saves always runs), versioned, run as ordinary edits."""

import json
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from runner.engine.ops.base import MediaKind, Operation
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json
from runner.engine.ops.params import Param
from service.domain.admission import admit
from service.domain.cursors import Page, keyset_page
from service.domain.edit_controls import split_controls
from service.domain.edits import Edits, edit_key
from service.domain.idempotency import Made, fingerprint, made_once
from service.domain.ops_refs import check_references
from service.domain.run_fit import FITTING_MEDIA, Misfit, first_told, fit
from service.domain.source_facts import refuse_impossible_run
from service.kernel.db import Database, Row
from service.kernel.errors import (
    InvalidInput,
    InvalidParameter,
    NotFound,
    NothingFits,
    UnknownParameter,
    left_out_said,
)
from service.kernel.metrics import ServiceMetrics
from service.kernel.settings import Settings

MAX_BATCH = 1000
MAX_NAME_CHARS = 200
NAME_ACCEPTED = f"a name for the workflow of at most {MAX_NAME_CHARS} characters, e.g. web-thumb"
NAME = Param(
    name="name", type="text", max_length=MAX_NAME_CHARS, example="web-thumb",
    description="The workflow's name (required when the operations come as query parameters).",
)  # fmt: skip
KIND = Param(
    name="kind", type="choice", choices=tuple(MediaKind), default=None, example="image",
    description="The media kind it runs on, when its operations fit both; without it, every "
    "kind they fit.",
)  # fmt: skip
CONTROLS = (NAME, KIND)
"""POST and PUT /workflows' own query parameters, beside the operations'."""
QUERY_CONTROL = tuple(control.name for control in CONTROLS)
Unfit = Literal["refuse", "leave_out"]
"""What a batch does with a media the workflow does not fit: refuse the whole batch, naming
it, or leave it out and say why."""
UNFIT_DESCRIPTION = (
    "A media the workflow does not fit (missing or deleted, of another kind, sound alone, or "
    "a source its operations cannot fit, like a crop past a smaller picture's edge): "
    '"refuse" the whole batch, naming it (422), or "leave_out" it and run the others, each '
    "left out listed in the answer's left_out with the refusal it would have had "
    "(every media left out: a 422, nothing to run)"
)


@dataclass(frozen=True, slots=True)
class Executions:
    page: Page  # the workflow's edits, newest first
    counts: dict[str, int]  # how many of all its edits are in each status


@dataclass(frozen=True, slots=True)
class Definition:
    name: str | None  # None: a new version keeps the name it has
    ops: list[dict[str, Any]]
    kinds: list[MediaKind]


@dataclass(frozen=True, slots=True)
class Saved:
    workflow: Row
    created: bool  # False: a workflow with this name and content was there already


Parse = Callable[[MediaKind], list[Operation]]


class Workflows:
    def __init__(
        self, *, database: Database, edits: Edits, settings: Settings, metrics: ServiceMetrics
    ) -> None:
        self._database = database
        self._edits = edits
        self._settings = settings
        self._metrics = metrics

    async def define_from_query(
        self, items: Sequence[tuple[str, str]], *, named: bool = True
    ) -> Definition:
        """named=False (a new version): without name=, the workflow keeps its own."""
        params, rest = split_controls(items, QUERY_CONTROL)
        name = _name(params.get("name"), required=named)
        kinds = _kinds(params.get("kind"))
        return await self._define(
            name, lambda kind: self._edits.parse(kind, rest, controls=QUERY_CONTROL), kinds
        )

    async def define_from_json(
        self,
        name: str | None,
        ops: list[dict[str, Any]],
        kinds: list[MediaKind] | None = None,
        *,
        named: bool = True,
    ) -> Definition:
        """Without `kinds`, every kind the operations fit; with them (an export names its
        own), exactly those, or a refusal saying which one they do not fit."""
        limits = self._edits.limits

        def parse(kind: MediaKind) -> list[Operation]:
            return parse_json(catalogue(), kind, ops, limits=limits)

        name = _name(name, required=named)
        if kinds is None:
            return await self._define(name, parse, list(MediaKind))
        return await self._define(name, parse, list(dict.fromkeys(kinds)), every=True)

    async def _define(
        self, name: str | None, parse: Parse, kinds: list[MediaKind], *, every: bool = False
    ) -> Definition:
        fits: dict[MediaKind, list[Operation]] = {}
        refusals: dict[MediaKind, InvalidParameter] = {}
        for kind in kinds:
            try:
                operations = parse(kind)
                await check_references(self._database, operations)
                fits[kind] = operations
            except InvalidParameter as exc:
                refusals[kind] = exc
        if not fits or (every and refusals):
            raise _most_telling(refusals)
        ops, readers = self._common(fits)
        if every and len(readers) < len(kinds):
            raise InvalidParameter(
                "kinds", ",".join(kinds), "the operations mean different things for these kinds",
                accepted="one kind, or operations that every kind named reads the same way",
            )  # fmt: skip
        return Definition(name, ops, readers)

    def _common(
        self, fits: dict[MediaKind, list[Operation]]
    ) -> tuple[list[dict[str, Any]], list[MediaKind]]:
        """One JSON list for the kinds the operations fit (a workflow keeps one): of each
        kind's reading, the one the most kinds read as they read the operations themselves.
        `resize=800x` is a video's `{"op": "resize", "width": 800, "height": null}`, which an
        image reads as its own resize=800x too: the workflow fits both."""
        best: tuple[list[dict[str, Any]], list[MediaKind]] = ([], [])
        for operations in fits.values():
            ops = [operation.as_json() for operation in operations]
            readers = [kind for kind, own in fits.items() if self._reads(kind, ops, own)]
            if len(readers) > len(best[1]):
                best = (ops, readers)
        return best

    def _reads(self, kind: MediaKind, ops: list[dict[str, Any]], own: list[Operation]) -> bool:
        try:
            return parse_json(catalogue(), kind, ops, limits=self._edits.limits) == own
        except InvalidParameter:
            return False

    async def create(self, definition: Definition) -> Saved:
        """A new workflow, or the one with this name when its operations and kinds are these
        (importing an export twice); Conflict when they are not (PUT a new version)."""
        row = await self._database.fetch_one("create_workflow", **_columns(definition))
        assert row is not None
        return Saved(await self.get(row["id"]), created=bool(row["created"]))

    async def update(self, workflow_id: UUID, definition: Definition) -> Row:
        await self._database.fetch_one("update_workflow", id=workflow_id, **_columns(definition))
        return await self.get(workflow_id)

    async def get(self, workflow_id: UUID) -> Row:
        row = await self._database.fetch_one("workflow_by_id", id=workflow_id)
        if row is None:
            raise NotFound(f"workflow {workflow_id} does not exist")
        return row

    async def page(self, *, limit: int, cursor: str | None) -> Page:
        """The workflows not deleted, newest first."""
        return await keyset_page(self._database, "list_workflows", limit=limit, cursor=cursor)

    async def executions(
        self, workflow_id: UUID, *, status: str | None, limit: int, cursor: str | None
    ) -> Executions:
        await self.get(workflow_id)
        page = await keyset_page(
            self._database, "workflow_executions", limit=limit, cursor=cursor, id=workflow_id,
            status=status,
        )  # fmt: skip
        counts = await self._database.fetch_all("workflow_status_counts", id=workflow_id)
        return Executions(page, {row["status"]: row["count"] for row in counts})

    async def version(self, workflow_id: UUID, version: int) -> Row:
        current = await self.get(workflow_id)
        row = await self._database.fetch_one("workflow_version", id=workflow_id, version=version)
        if row is None:
            raise NotFound(f"workflow {workflow_id} has no version {version}")
        return {**current, **row}

    async def delete(self, workflow_id: UUID) -> None:
        await self._database.fetch_one("delete_workflow", id=workflow_id)

    async def run(
        self,
        workflow_id: UUID,
        media_ids: list[UUID],
        *,
        priority: int,
        fresh: bool = False,
        batch: bool = False,
        unfit: Unfit = "refuse",
        idempotency_key: str | None = None,
    ) -> Made:
        """An edit per media, each made once as POST /edit makes it: an identical one still to
        run is joined, a completed one reused (unless `fresh`); each row says which. A media
        the workflow does not fit refuses the whole batch, naming it (unfit="refuse"), or is
        left out with that refusal (unfit="leave_out", Made.left_out; NothingFits when none
        is left). With an `idempotency_key`, a retry of the same request (workflow, media in
        order, priority, fresh, batch or not, unfit) answers what the first answered, edits
        and left_out, judged by nothing: the workflow may have a new version since (deleted,
        it is a 404)."""
        workflow = await self._runnable(workflow_id)
        # A batch larger than the queue may ever hold would be refused as "full" for good.
        most = min(MAX_BATCH, self._settings.max_queued)
        if not 1 <= len(media_ids) <= most:
            raise InvalidParameter(
                "media", ",".join(map(str, media_ids)),  # none: (empty)
                f"{len(media_ids):,} media given" if media_ids else "no media given",
                accepted=f"1 to {most:,} media ids"
                + (" (EDITROOM_MAX_QUEUED)" if most < MAX_BATCH else ""),
            )  # fmt: skip
        request = fingerprint(
            "POST /workflows/{id}/run", workflow=workflow_id, media=media_ids,
            priority=priority, fresh=fresh, batch=batch,
            # Only when asked: the requests made before it existed keep their fingerprints.
            **({"unfit": unfit} if unfit != "refuse" else {}),
        )  # fmt: skip

        async def make() -> Made:
            return await self._judged_run(
                workflow, media_ids, unfit=unfit, priority=priority, fresh=fresh
            )

        try:
            return await made_once(
                self._database, key=idempotency_key, request=request, make=make,
                window_seconds=self._settings.idempotency_window_seconds,
            )  # fmt: skip
        except _GoneSinceJudged as gone:  # said once the transaction it aborted (a key's) is over
            await self._runnable(workflow_id)  # the workflow deleted: a 404, not the media's fault
            raise await self._refusal_now(workflow, gone) from None

    async def _judged_run(
        self, workflow: Row, media_ids: list[UUID], *, unfit: Unfit, priority: int, fresh: bool
    ) -> Made:
        """The edits of the media the workflow fits (_judge), unless `unfit` refuses."""
        judged = list(zip(media_ids, await self._judge(workflow, media_ids), strict=True))
        misfits = [(media, why) for media, why in judged if isinstance(why, Misfit)]
        if misfits and unfit == "refuse":
            raise first_told([why for _, why in misfits]).refusal
        if len(misfits) == len(media_ids):
            raise NothingFits([(media, why.refusal) for media, why in misfits])
        fits = [(media, key) for media, key in judged if isinstance(key, str)]
        rows = await self._run(workflow, fits, priority=priority, fresh=fresh)
        return Made(rows, left_out=[left_out_said(media, why.refusal) for media, why in misfits])

    async def _run(
        self, workflow: Row, fits: list[tuple[UUID, str]], *, priority: int, fresh: bool
    ) -> list[Row]:
        """`fits`: each media with the key of its edit (_judge)."""
        media_ids = [media for media, _ in fits]
        await admit(self._database, max_queued=self._settings.max_queued, adding=len(fits))
        try:
            edits = await self._database.fetch_all(
                "run_workflow_once", id=workflow["id"], version=workflow["version"],
                media_ids=media_ids, edit_keys=[key for _, key in fits],
                fresh=fresh, priority=priority, max_trials=self._settings.edit_max_trials,
            )  # fmt: skip
        except (NotFound, InvalidInput) as exc:  # a media deleted since it was judged, or the
            raise _GoneSinceJudged(str(exc), media_ids) from exc  # workflow since it was read
        self._metrics.answered(edits)
        return edits

    async def _runnable(self, workflow_id: UUID) -> Row:
        """The workflow, NotFound when it does not exist or was deleted."""
        workflow = await self.get(workflow_id)
        if workflow["deleted_at"] is not None:
            raise NotFound(f"workflow {workflow_id} was deleted; it can no longer run")
        return workflow

    async def _judge(self, workflow: Row, media_ids: list[UUID]) -> list[str | Misfit]:
        """Of each media, in order, the key of its edit by this version of the workflow
        (edits.edit_key), or why the workflow does not fit it: the one place a run decides.
        The database checks again, as the edits are made, that each media is there and of a
        kind the workflow works on (one deleted meanwhile refuses the batch, as always)."""
        rows = await self._database.fetch_all("media_kinds", ids=media_ids)
        found = {row["id"]: row for row in rows}
        fitting = {MediaKind(row["kind"]) for row in rows} & set(map(MediaKind, workflow["kinds"]))
        keys = {kind: await self._keying(kind, workflow["ops"]) for kind in fitting}
        return [fit(workflow, media_id, found.get(media_id), keys) for media_id in media_ids]

    async def _keying(self, kind: MediaKind, ops: list[dict[str, Any]]) -> Callable[[Row], str]:
        """The edit key of these operations on a source of this kind, given its row (its
        SHA-256), once its facts are found to fit them (source_facts.py)."""
        operations = parse_json(catalogue(), kind, ops, limits=self._edits.limits)
        inputs = await check_references(self._database, operations)

        def key(media: Row) -> str:
            refuse_impossible_run(media, operations, limits=self._edits.limits)
            return edit_key(
                kind=kind, source_sha256=media["sha256"], operations=operations, inputs=inputs
            )

        return key

    async def _refusal_now(self, workflow: Row, gone: "_GoneSinceJudged") -> InvalidParameter:
        """Why the database refused a batch's edits (editroom.workflow_version_to_run checks
        each media again as they are made): the media it was given (not those a leave_out had
        left out already) judged again, so the refusal is in the judgement's words
        (run_fit.py), the first media deleted since named."""
        judged = await self._judge(workflow, gone.media_ids)
        misfits = [why for why in judged if isinstance(why, Misfit)]
        if misfits:
            return first_told(misfits).refusal
        return InvalidParameter(
            "media", ",".join(map(str, gone.media_ids)), str(gone), accepted=FITTING_MEDIA
        )


class _GoneSinceJudged(Exception):
    """The database refused a batch's edits, made of `media_ids`: a media, or the workflow,
    deleted since the run judged them (Workflows._run); Workflows.run says which, after its
    transaction."""

    def __init__(self, message: str, media_ids: list[UUID]) -> None:
        super().__init__(message)
        self.media_ids = media_ids


def _columns(definition: Definition) -> dict[str, Any]:
    return {
        "name": definition.name,
        "ops": json.dumps(definition.ops),
        "kinds": [kind.value for kind in definition.kinds],
    }


def _name(text: str | None, *, required: bool) -> str | None:
    if text is None and not required:
        return None
    if text is None or not text.strip():
        raise InvalidParameter("name", text, "is required", accepted=NAME_ACCEPTED)
    name = text.strip()
    if len(name) > MAX_NAME_CHARS:
        raise InvalidParameter(
            "name", name, f"is {len(name):,} characters long", accepted=NAME_ACCEPTED
        )
    control = next((c for c in name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise InvalidParameter(
            "name", name, f"holds a control character (U+{ord(control):04X})",
            accepted=NAME_ACCEPTED,
        )  # fmt: skip
    return name


def _kinds(text: str | None) -> list[MediaKind]:
    if text is None:
        return list(MediaKind)
    try:
        return [MediaKind(text)]
    except ValueError:
        raise InvalidParameter("kind", text, "not a media kind", accepted="image | video") from None


def _most_telling(refusals: dict[MediaKind, InvalidParameter]) -> InvalidParameter:
    """Of each kind's refusal, the one about a value rather than about which kind fits (an
    UnknownParameter: an operation the kind does not have)."""
    about_a_value = (r for r in refusals.values() if not isinstance(r, UnknownParameter))
    return next(about_a_value, next(iter(refusals.values())))
