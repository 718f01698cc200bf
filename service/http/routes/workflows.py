"""/workflows: saved, versioned operation lists, exported and imported as JSON, run on media
one at a time or in batches, with their executions."""

import json
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from service.domain.cursors import CURSOR_ACCEPTED, decode_cursor, encode_cursor
from service.domain.edits import FINISHED, parse_wait
from service.domain.workflows import Definition, Workflows
from service.http.deps import DatabaseDep, EditsDep, WorkflowsDep, only_parameters
from service.http.openapi import RUN_QUERY, WORKFLOW_QUERY
from service.http.schemas import (
    BatchOut,
    EditOut,
    ExecutionsPage,
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


async def definition(request: Request, workflows: Workflows) -> Definition:
    body = await request.body()
    query = [item for item in request.query_params.multi_items()]
    if not body.strip():
        return await workflows.define_from_query(query)
    if [name for name, _ in query]:
        raise InvalidParameter(
            query[0][0], query[0][1], "give the workflow as JSON or as query parameters, not both",
            accepted="a JSON body, or query parameters",
        )  # fmt: skip
    try:
        document = WorkflowIn.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise InvalidParameter(
            "body", body[:80].decode(errors="replace"), f"not a workflow: {exc}".splitlines()[0],
            accepted='{"name": "...", "ops": [{"op": ...}, ...], "kinds": ["image"]}',
        ) from None  # fmt: skip
    return await workflows.define_from_json(document.name, document.ops, document.kinds)


@router.post("", status_code=201, response_model=WorkflowOut, openapi_extra=WORKFLOW_QUERY)
async def create_workflow(
    request: Request, workflows: WorkflowsDep, document: WorkflowIn | None = DEFINITION_BODY
) -> JSONResponse:
    """Save a workflow from JSON, or from the query grammar of /edit plus `name` (and `kind`
    to choose image or video when the operations fit both)."""
    row = await workflows.create(await definition(request, workflows))
    body = WorkflowOut.from_row(row)
    return JSONResponse(body.model_dump(mode="json"), 201, headers={"Location": body.url})


@router.get("", response_model=WorkflowPage,
            dependencies=[Depends(only_parameters("limit", "cursor"))])  # fmt: skip
async def list_workflows(
    database: DatabaseDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> WorkflowPage:
    after_at, after_id = decode_cursor(cursor) if cursor is not None else (None, None)
    rows = await database.fetch_all(
        "list_workflows", after_at=after_at, after_id=after_id, limit=limit + 1
    )
    next_cursor = encode_cursor(rows[limit - 1], "created_at") if len(rows) > limit else None
    return WorkflowPage(
        items=[WorkflowOut.from_row(row) for row in rows[:limit]], next_cursor=next_cursor
    )


@router.get("/{workflow_id}", response_model=WorkflowOut)
async def get_workflow(workflow_id: UUID, workflows: WorkflowsDep) -> WorkflowOut:
    """The workflow as JSON: POST it to /workflows to import it again."""
    return WorkflowOut.from_row(await workflows.get(workflow_id))


@router.get("/{workflow_id}/versions/{version}", response_model=WorkflowOut)
async def get_workflow_version(
    workflow_id: UUID, version: int, workflows: WorkflowsDep
) -> WorkflowOut:
    return WorkflowOut.from_row(await workflows.version(workflow_id, version))


@router.put("/{workflow_id}", response_model=WorkflowOut, openapi_extra=WORKFLOW_QUERY)
async def update_workflow(
    workflow_id: UUID,
    request: Request,
    workflows: WorkflowsDep,
    document: WorkflowIn | None = DEFINITION_BODY,
) -> WorkflowOut:
    """Save a new version; executions keep the version they ran."""
    row = await workflows.update(workflow_id, await definition(request, workflows))
    return WorkflowOut.from_row(row)


@router.delete("/{workflow_id}", status_code=204)
async def delete_workflow(workflow_id: UUID, workflows: WorkflowsDep) -> Response:
    """It can no longer run; its versions and executions stay readable."""
    await workflows.delete(workflow_id)
    return Response(status_code=204)


@router.post("/{workflow_id}/run", status_code=202, response_model=EditOut | BatchOut,
             dependencies=[Depends(only_parameters("media", "wait", "priority"))],
             openapi_extra=RUN_QUERY)  # fmt: skip
async def run_workflow(
    workflow_id: UUID,
    workflows: WorkflowsDep,
    edits: EditsDep,
    media: UUID | None = None,
    wait: str | None = None,
    priority: Annotated[int, Query(ge=-1000, le=1000)] = 0,
    batch: RunBatchIn | None = None,
) -> JSONResponse:
    """`?media=ID`: one edit (with `wait=S` like /edit). A JSON body `{"media": [ids]}`: a
    batch, one edit each, all or none."""
    if (media is None) == (batch is None):
        raise InvalidParameter(
            "media", str(media or ""), "give one media, or a batch in the body",
            accepted='?media=ID, or the body {"media": [ID, ...]}',
        )  # fmt: skip
    seconds = parse_wait(wait)
    if batch is not None:
        rows = await workflows.run(workflow_id, batch.media, priority=priority)
        body = BatchOut(edits=[EditOut.from_row(row) for row in rows])
        return JSONResponse(body.model_dump(mode="json"), 202)
    assert media is not None
    (row,) = await workflows.run(workflow_id, [media], priority=priority)
    if seconds:
        row = await edits.wait(row["id"], seconds)
    out = EditOut.from_row(row)
    status = 200 if row["status"] in FINISHED else 202
    return JSONResponse(out.model_dump(mode="json"), status, headers={"Location": out.url})


@router.get("/{workflow_id}/executions", response_model=ExecutionsPage,
            dependencies=[Depends(only_parameters("status", "limit", "cursor"))])  # fmt: skip
async def executions(
    workflow_id: UUID,
    database: DatabaseDep,
    workflows: WorkflowsDep,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description=CURSOR_ACCEPTED)] = None,
) -> ExecutionsPage:
    """The edits the workflow made, newest first, with how many are in each status."""
    await workflows.get(workflow_id)
    after_at, after_id = decode_cursor(cursor) if cursor is not None else (None, None)
    rows = await database.fetch_all(
        "workflow_executions", id=workflow_id, status=status, after_at=after_at,
        after_id=after_id, limit=limit + 1,
    )  # fmt: skip
    counts = await database.fetch_all("workflow_status_counts", id=workflow_id)
    next_cursor = encode_cursor(rows[limit - 1], "created_at") if len(rows) > limit else None
    return ExecutionsPage(
        items=[EditOut.from_row(row) for row in rows[:limit]],
        next_cursor=next_cursor,
        counts={row["status"]: row["count"] for row in counts},
    )
