"""/workflows: saved, versioned operation lists, exported and imported as JSON, run on media
one at a time or in batches, with their executions."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response

from service.domain.cursors import CURSOR_ACCEPTED
from service.domain.edit_controls import parse_fresh, parse_wait
from service.domain.workflows import Definition, Workflows
from service.http.answers import queued_edit, replay_header
from service.http.deps import EditsDep, IdempotencyKey, LinksDep, WorkflowsDep
from service.http.openapi import REPLAYED_HEADER_DOC, RUN_QUERY, WORKFLOW_QUERY
from service.http.schemas import (
    BatchOut,
    EditOut,
    ExecutionsPage,
    LeftOutOut,
    RunBatchIn,
    WorkflowIn,
    WorkflowOut,
    WorkflowPage,
)
from service.kernel.errors import InvalidParameter

router = APIRouter(prefix="/workflows", tags=["workflows"])

Status = Literal["queued", "processing", "completed", "error", "failed", "cancelled"]
DEFINITION_BODY = Body(
    default=None,
    description="The workflow as JSON (an export imports as it is), or nothing and the "
    "query grammar of /edit: ?name=web-thumb&resize=800x&format=webp",
)


async def definition(
    request: Request, workflows: Workflows, document: WorkflowIn | None, *, named: bool
) -> Definition:
    """The workflow asked for: the JSON body FastAPI read (WorkflowIn: sent as JSON, every key
    known), or, without one, the query grammar. named=False (PUT): without a name, the
    workflow keeps its own."""
    query = request.query_params.multi_items()
    if document is None:
        return await workflows.define_from_query(query, named=named)
    if query:
        raise InvalidParameter(
            query[0][0], query[0][1], "give the workflow as JSON or as query parameters, not both",
            accepted="a JSON body, or query parameters",
        )  # fmt: skip
    return await workflows.define_from_json(
        document.name, document.ops, document.kinds, named=named
    )


@router.post(
    "", status_code=201, response_model=WorkflowOut, openapi_extra=WORKFLOW_QUERY,
    responses={
        200: {"model": WorkflowOut, "description": "A workflow with this name, operations and "
              "kinds exists already (an export imported twice): that one"},
        409: {"description": "A workflow with this name but other operations or kinds exists: "
              "PUT /workflows/{id} to save them as its new version, or choose another name"},
    },
)  # fmt: skip
async def create_workflow(
    request: Request,
    workflows: WorkflowsDep,
    links: LinksDep,
    document: WorkflowIn | None = DEFINITION_BODY,
) -> JSONResponse:
    """Save a workflow from JSON, or from the query grammar of /edit plus `name` (and `kind`
    to choose image or video when the operations fit both). A name is one workflow: the same
    name, operations and kinds again answer the existing one (200); other operations or kinds
    under that name are a 409."""
    saved = await workflows.create(await definition(request, workflows, document, named=True))
    body = WorkflowOut.from_row(saved.workflow, links)
    status = 201 if saved.created else 200
    return JSONResponse(body.model_dump(mode="json"), status, headers={"Location": body.url})


@router.get("", response_model=WorkflowPage)
async def list_workflows(
    workflows: WorkflowsDep,
    links: LinksDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> WorkflowPage:
    page = await workflows.page(limit=limit, cursor=cursor)
    items = [WorkflowOut.from_row(row, links) for row in page.rows]
    return WorkflowPage(items=items, next_cursor=page.next_cursor)


@router.get("/{workflow_id}", response_model=WorkflowOut, name="get_workflow")
async def get_workflow(workflow_id: UUID, workflows: WorkflowsDep, links: LinksDep) -> WorkflowOut:
    """The workflow as JSON: POST it to /workflows to import it again."""
    return WorkflowOut.from_row(await workflows.get(workflow_id), links)


@router.get("/{workflow_id}/versions/{version}", response_model=WorkflowOut)
async def get_workflow_version(
    workflow_id: UUID, version: int, workflows: WorkflowsDep, links: LinksDep
) -> WorkflowOut:
    return WorkflowOut.from_row(await workflows.version(workflow_id, version), links)


@router.put("/{workflow_id}", response_model=WorkflowOut, openapi_extra=WORKFLOW_QUERY)
async def update_workflow(
    workflow_id: UUID,
    request: Request,
    workflows: WorkflowsDep,
    links: LinksDep,
    document: WorkflowIn | None = DEFINITION_BODY,
) -> WorkflowOut:
    """Save a new version; executions keep the version they ran. Without a name (no `name=`,
    or JSON without "name"), the workflow keeps its own."""
    asked = await definition(request, workflows, document, named=False)
    row = await workflows.update(workflow_id, asked)
    return WorkflowOut.from_row(row, links)


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(workflow_id: UUID, workflows: WorkflowsDep) -> Response:
    """It can no longer run; its versions and executions stay readable."""
    await workflows.delete(workflow_id)
    return Response(status_code=204)


@router.post("/{workflow_id}/run", status_code=202, response_model=EditOut | BatchOut,
             responses={
                 202: {"description": "queued", "headers": REPLAYED_HEADER_DOC},
                 400: {"description": "the Idempotency-Key header is malformed"},
                 422: {"description": "a parameter is wrong (a media the workflow does not "
                       'fit, unless `"unfit": "leave_out"`; with it, every media left out: '
                       "nothing to run, each one's refusal in `left_out`), or the "
                       "Idempotency-Key was used for another request; the body names it"},
             },
             openapi_extra=RUN_QUERY)  # fmt: skip
async def run_workflow(
    workflow_id: UUID,
    workflows: WorkflowsDep,
    edits: EditsDep,
    links: LinksDep,
    media: UUID | None = None,
    wait: str | None = None,
    priority: Annotated[int, Query(ge=-1000, le=1000)] = 0,
    fresh: str | None = None,
    batch: RunBatchIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """`?media=ID`: one edit (with `wait=S` like /edit). A JSON body `{"media": [ids]}`: a
    batch, one edit each, all or none; with `"unfit": "leave_out"`, the media the workflow
    does not fit are left out, each listed in `left_out` with the refusal it would have had.
    Identical edits are made once, as by /edit. With an `Idempotency-Key` header, a retry of
    the same request answers the edits the first made."""
    if (media is None) == (batch is None):
        raise InvalidParameter(
            "media", media,
            "give one media, or a batch in the body",
            accepted='?media=ID, or the body {"media": [ID, ...]}',
        )  # fmt: skip
    seconds, again = parse_wait(wait), parse_fresh(fresh)
    if batch is not None:
        made = await workflows.run(
            workflow_id, batch.media, priority=priority, fresh=again, batch=True,
            unfit=batch.unfit, idempotency_key=idempotency_key,
        )  # fmt: skip
        body = BatchOut(
            edits=[EditOut.from_row(row, links) for row in made.rows],
            left_out=[LeftOutOut.model_validate(said) for said in made.left_out],
        )
        headers = replay_header(made.replayed)
        return JSONResponse(body.model_dump(mode="json"), 202, headers=headers)
    assert media is not None
    async with edits.waiting(seconds) as answer:
        made = await workflows.run(
            workflow_id, [media], priority=priority, fresh=again, idempotency_key=idempotency_key
        )
        (row,) = made.rows
        return await queued_edit(row, answer=answer, links=links, replayed=made.replayed)


@router.get("/{workflow_id}/executions", response_model=ExecutionsPage, name="executions")
async def executions(
    workflow_id: UUID,
    workflows: WorkflowsDep,
    links: LinksDep,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> ExecutionsPage:
    """The edits the workflow made, newest first, with how many are in each status."""
    found = await workflows.executions(workflow_id, status=status, limit=limit, cursor=cursor)
    return ExecutionsPage(
        items=[EditOut.from_row(row, links) for row in found.page.rows],
        next_cursor=found.page.next_cursor,
        counts=found.counts,
    )
