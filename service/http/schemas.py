"""What the API answers with: the JSON shapes of its resources."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from runner.engine.ops.base import MediaKind, known_seconds
from runner.engine.ops.written import stored_query
from service.domain.cursors import Page
from service.domain.workflows import UNFIT_DESCRIPTION, Unfit
from service.http.links import Links
from service.kernel.db import Row

QUERY_DESCRIPTION = (
    "Its operations in the edit language's query form, e.g. "
    '"crop=80,60,160,120&resize=800x" (modifiers at their default left out); null for an '
    "import, whose request is no operation of the language"
)
BY_ADDRESS_DESCRIPTION = (
    "True while only its result address (GET /media/{media}/{operations}: a thumbnail, a "
    "display copy) has ever asked for it: a cached copy, not anyone's own edit. Cleared when "
    "any other request (POST /edit, a workflow run) finds it"
)
BY_ADDRESS_FILTER = (
    "true: only edits made by a result address and asked for no other way (cached copies "
    "such as thumbnails); false: every other edit; none: all"
)
BY_ADDRESS_MEDIA_FILTER = (
    "true: only the results of edits made by a result address (cached copies such as "
    "thumbnails); false: every other media (originals, and outputs of edits asked for by "
    "name); none: all"
)

RETRYABLE_DESCRIPTION = (
    "true when POST /edit/{id}/retry would accept it now and trying again may end otherwise: "
    "it was cancelled; it failed on its last allowed trial with a failure the runner judged "
    "retryable (a runner lost, storage down); or it is a session step failed or cancelled "
    "before it ran because the step it follows did, once that step has completed. false while "
    "it is queued, processing, error (it retries by itself) or completed; when it failed and "
    "the runner said the same work fails the same way (fails_alike: a corrupt source, a crop "
    "past the picture); and for a session step while another step of its session is still to "
    "run, or the step it follows has not completed. Retry applies the same rule: where this "
    "is false it answers 409 saying why"
)
FAILS_ALIKE_DESCRIPTION = (
    "true when it failed and the runner said the same work fails the same way whatever the "
    "trial (a corrupt source, a crop past the picture, no face to find): never retryable; "
    "change its operations or its source and make a new edit"
)


class Codecs(BaseModel):
    video: str | None = Field(description="The video stream's codec (FFmpeg name), or null")
    audio: str | None = Field(description="The audio stream's codec (FFmpeg name), or null")


class MediaOut(BaseModel):
    id: UUID = Field(description="The media's id")
    kind: str = Field(description="image or video, decided by its content")
    content_type: str = Field(description="Its MIME type, from its content")
    size_bytes: int = Field(description="Its size in bytes")
    sha256: str = Field(description="The SHA-256 of its bytes, hex")
    width: int | None = Field(description="Width in pixels")
    height: int | None = Field(description="Height in pixels")
    duration_seconds: float | None = Field(
        description="A video's duration in seconds; null for images, and for a video whose "
        "length is not known (one an older upload recorded as lasting 0 s)"
    )
    frame_rate: float | None = Field(description="A video's frames per second; null for images")
    codecs: Codecs = Field(description="A video's codecs")
    original_name: str | None = Field(
        description="The file name it was uploaded (or produced) with"
    )
    uploaded_at: datetime = Field(description="When it was stored")
    origin: Literal["upload", "import", "edit"] = Field(
        description="Where it came from: upload (uploaded), import (fetched from a URL by an "
        "import job: source_edit_id) or edit (an edit's output). Uploads and imports are the "
        "originals"
    )
    source_edit_id: UUID | None = Field(
        description="The edit that produced it, if an edit or an import job did"
    )
    source_media_id: UUID | None = Field(description="The media that edit read")
    by_address: bool = Field(
        description="True for the result of an edit only a result address asked for (its "
        "source_edit_id's by_address): a cached copy, such as a thumbnail"
    )
    source_seconds: float | None = Field(
        description="For a still of a video (thumbnail, frames): the time it shows, in seconds "
        "of the video that edit read (source_media_id); null for anything else, and for a "
        "still of a video the edit appended with concat"
    )
    content_url: str = Field(description="Where its bytes are (Range requests work)")

    @classmethod
    def from_row(cls, row: Row, links: Links, **extra: Any) -> "MediaOut":
        columns = {name: row[name] for name in _MEDIA_COLUMNS}
        return cls(
            **columns | {"duration_seconds": known_seconds(row["duration_seconds"])},
            codecs=Codecs(video=row["video_codec"], audio=row["audio_codec"]),
            content_url=links.content(row["id"]),
            **extra,
        )


_MEDIA_COLUMNS = (
    "id", "kind", "content_type", "size_bytes", "sha256", "width", "height",
    "duration_seconds", "frame_rate", "original_name", "uploaded_at", "origin",
    "source_edit_id", "source_media_id", "source_seconds", "by_address",
)  # fmt: skip


class UploadOut(MediaOut):
    duplicate: bool = Field(
        description="true when the same bytes were uploaded before and this is that media"
    )


class MediaPage(BaseModel):
    items: list[MediaOut] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last"
    )


class PresignOut(BaseModel):
    id: UUID = Field(description="The pending media's id")
    upload_url: str = Field(description="Where to send the bytes")
    method: str = Field(description="The HTTP method to send them with (PUT)")
    expires_at: datetime = Field(description="When upload_url stops working")
    complete_url: str = Field(description="POST here once the bytes are sent")


class OutputOut(BaseModel):
    id: UUID = Field(description="The produced media's id")
    url: str = Field(description="The produced media")
    content_url: str = Field(description="Its bytes")


class EditOut(BaseModel):
    id: UUID = Field(description="The edit's id")
    media_id: UUID | None = Field(
        description="The media it reads; null for an import, for a session's step until the "
        "step before it has completed (it reads that step's result), and once that media is "
        "deleted"
    )
    session_id: UUID | None = Field(description="The session it belongs to, if any")
    workflow_id: UUID | None = Field(description="The workflow it runs, if any")
    status: str = Field(
        description="queued, processing, completed, error (will retry), failed or cancelled"
    )
    ops: list[dict[str, Any]] = Field(
        description="Its operations, in order, as JSON (GET /operations describes them)"
    )
    query: str | None = Field(description=QUERY_DESCRIPTION)
    priority: int = Field(description="Higher runs sooner")
    trial: int = Field(description="How many times it has been claimed")
    max_trials: int = Field(description="How many claims it may have before it fails")
    progress: float | None = Field(description="The fraction done, 0 to 1, while processing")
    progress_detail: dict[str, Any] | None = Field(
        description="More about the progress (bytes so far and in all, for an import)"
    )
    error: str | None = Field(description="Why its last attempt failed")
    fails_alike: bool = Field(description=FAILS_ALIKE_DESCRIPTION)
    retryable: bool = Field(description=RETRYABLE_DESCRIPTION)
    worker: str | None = Field(
        description="The runner holding it while processing (host:pid); null otherwise"
    )
    outputs: list[OutputOut] = Field(description="What it produced, once completed")
    created_at: datetime = Field(description="When it was asked for")
    run_after: datetime = Field(description="It is not claimed before this (a retry's back-off)")
    started_at: datetime | None = Field(description="When its current or last attempt started")
    finished_at: datetime | None = Field(description="When it completed, failed or was cancelled")
    url: str = Field(description="The edit")
    events_url: str = Field(description="Its Server-Sent Events stream")
    result_url: str | None = Field(
        description="Its result's GET address, GET /media/{media}/{operations as written}: the "
        "bytes, cacheable forever, for <img src> or a CDN; signed when the service signs "
        "addresses (EDITROOM_URL_SIGNING_KEY). Null for an import, and for an edit that "
        "completed without a result (noop)"
    )
    by_address: bool = Field(description=BY_ADDRESS_DESCRIPTION)
    reused: bool = Field(
        default=False,
        description="True when POST /edit answered an identical edit (same source bytes, same "
        "operations) already completed or still under way, instead of making a new one; false "
        "on every other answer",
    )

    @classmethod
    def from_row(cls, row: Row, links: Links) -> "EditOut":
        query = stored_query(row["ops"])
        return cls(
            **{name: row[name] for name in _EDIT_COLUMNS},
            query=query,
            worker=row["locked_by"],
            fails_alike=row["fails_alike"],
            retryable=row["retryable"],
            outputs=[
                OutputOut(
                    id=media_id, url=links.media(media_id), content_url=links.content(media_id)
                )
                for media_id in row["outputs"]
            ],
            url=links.edit(row["id"]),
            events_url=links.edit_events(row["id"]),
            result_url=(
                None  # nothing to address: it made no result (noop)
                if row["status"] == "completed" and not row["outputs"]
                else links.result(row["media_id"], query)
            ),
            reused=bool(row.get("reused")),
        )


_EDIT_COLUMNS = (
    "id", "media_id", "session_id", "workflow_id", "status", "ops", "priority", "trial",
    "max_trials", "progress", "progress_detail", "error", "created_at", "run_after",
    "started_at", "finished_at", "by_address",
)  # fmt: skip


class EditPage(BaseModel):
    items: list[EditOut] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last"
    )


class StatusCount(BaseModel):
    status: str = Field(description="An edit status")
    count: int = Field(description="How many edits have it")


class HeadOut(BaseModel):
    edit_id: UUID | None = Field(
        description="The edit that made the head; null at the session's start"
    )
    media_id: UUID = Field(description="The media the next edit reads")
    content_url: str = Field(description="Its bytes")


class StepOut(BaseModel):
    step: int = Field(description="Its number in the session, from 1")
    edit_id: UUID = Field(description="The step's edit")
    ops: list[dict[str, Any]] = Field(description="Its operations, as JSON")
    query: str | None = Field(description=QUERY_DESCRIPTION)
    status: str = Field(description="Its edit's status")
    input_media_id: UUID | None = Field(description="The media it read")
    output_media_ids: list[UUID] = Field(description="What it produced")
    follows_edit_id: UUID | None = Field(description="The step it was made on; null for the first")
    error: str | None = Field(description="Why it failed")
    trial: int = Field(description="How many times its edit has been claimed")
    max_trials: int = Field(description="How many claims its edit may have before it fails")
    fails_alike: bool = Field(description=FAILS_ALIKE_DESCRIPTION)
    retryable: bool = Field(description=RETRYABLE_DESCRIPTION)
    created_at: datetime = Field(description="When it was asked for")
    finished_at: datetime | None = Field(description="When it finished")
    is_head: bool = Field(description="true for the step the head is at")
    abandoned: bool = Field(
        description="true for a completed step that undo and redo can no longer reach: it was "
        "undone, then another step was made in its place. Not part of the head, and redo will "
        "not bring it back; its result stays readable"
    )

    @classmethod
    def from_row(cls, row: Row, head_edit_id: UUID | None) -> "StepOut":
        return cls(
            step=row["session_step"],
            edit_id=row["id"],
            ops=row["ops"],
            query=stored_query(row["ops"]),
            status=row["status"],
            input_media_id=row["media_id"],
            output_media_ids=row["outputs"],
            follows_edit_id=row["parent_edit_id"],
            error=row["error"],
            trial=row["trial"],
            max_trials=row["max_trials"],
            fails_alike=row["fails_alike"],
            retryable=row["retryable"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            is_head=row["id"] == head_edit_id,
            abandoned=row["abandoned"],
        )


class SessionOut(BaseModel):
    id: UUID = Field(description="The session's id")
    media_id: UUID = Field(description="The media it was opened on")
    head: HeadOut = Field(description="What the next edit reads")
    busy: bool = Field(description="true while a step is queued or processing")
    can_undo: bool = Field(description="Whether undo has a step to go back to")
    can_redo: bool = Field(description="Whether redo has a step to go forward to")
    created_at: datetime = Field(description="When it was opened")
    updated_at: datetime = Field(description="When its head last moved")
    url: str = Field(description="The session")
    steps: list[StepOut] | None = Field(
        default=None,
        description="Its newest steps (steps_limit, 100 by default), oldest first (on GET "
        "/sessions/{id} and its actions); older ones at steps_next_cursor",
    )
    steps_next_cursor: str | None = Field(
        default=None,
        description="Pass as steps_cursor= to GET /sessions/{id} for the steps before these; "
        "null when these reach the first step",
    )

    @classmethod
    def from_row(cls, row: Row, links: Links, steps: Page | None = None) -> "SessionOut":
        head = row["head_media_id"]
        return cls(
            id=row["id"],
            media_id=row["media_id"],
            head=HeadOut(
                edit_id=row["head_edit_id"],
                media_id=head,
                content_url=links.content(head),
            ),
            busy=row["busy"],
            can_undo=row["can_undo"],
            can_redo=row["can_redo"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            url=links.session(row["id"]),
            steps=None
            if steps is None
            else [StepOut.from_row(step, row["head_edit_id"]) for step in steps.rows],
            steps_next_cursor=None if steps is None else steps.next_cursor,
        )


class SessionPage(BaseModel):
    items: list[SessionOut] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last"
    )


# What an export (WorkflowOut) says beside name, ops and kinds: read-only, accepted and
# ignored by an import, so that an export imports as it is. Any other key is refused.
_EXPORTED = "From an export: read-only, ignored"


class WorkflowIn(BaseModel):
    """A workflow as exported; read-only fields of an export are accepted and ignored, so an
    export imports as it is. A key it does not know is refused, named."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(
        default=None,
        description="The workflow's name: required to create one; a new version (PUT) "
        "without it keeps the name it has",
    )
    # Each list is checked up to its first bad item (fail_fast): a megabyte of bad items would
    # cost pydantic seconds of the event loop to find and describe every one (docs/decisions.md).
    ops: list[dict[str, Any]] = Field(
        description='Its operations, as JSON: [{"op": "resize", "width": 800}, ...]',
        fail_fast=True,
    )
    kinds: list[MediaKind] | None = Field(
        default=None, min_length=1, fail_fast=True,
        description="the media kinds it runs on; without it, every kind its operations fit",
    )  # fmt: skip
    id: Any = Field(default=None, description=_EXPORTED)
    version: Any = Field(default=None, description=_EXPORTED)
    query: Any = Field(default=None, description=_EXPORTED)
    created_at: Any = Field(default=None, description=_EXPORTED)
    updated_at: Any = Field(default=None, description=_EXPORTED)
    deleted_at: Any = Field(default=None, description=_EXPORTED)
    url: Any = Field(default=None, description=_EXPORTED)
    executions_url: Any = Field(default=None, description=_EXPORTED)


class WorkflowOut(BaseModel):
    id: UUID = Field(description="The workflow's id")
    name: str = Field(description="Its name")
    version: int = Field(description="Its version, from 1; each save adds one")
    kinds: list[str] = Field(description="The media kinds it runs on")
    ops: list[dict[str, Any]] = Field(description="Its operations, as JSON")
    query: str | None = Field(description=QUERY_DESCRIPTION)
    created_at: datetime = Field(description="When it was first saved")
    updated_at: datetime = Field(description="When this version was saved")
    deleted_at: datetime | None = Field(description="When it was deleted; null while it can run")
    url: str = Field(description="The workflow")
    executions_url: str = Field(description="The edits it ran")

    @classmethod
    def from_row(cls, row: Row, links: Links) -> "WorkflowOut":
        return cls(
            **{name: row[name] for name in _WORKFLOW_COLUMNS},
            query=stored_query(row["ops"], [MediaKind(kind) for kind in row["kinds"]]),
            url=links.workflow(row["id"]),
            executions_url=links.executions(row["id"]),
        )


_WORKFLOW_COLUMNS = (
    "id", "name", "version", "kinds", "ops", "created_at", "updated_at", "deleted_at",
)  # fmt: skip


class WorkflowPage(BaseModel):
    items: list[WorkflowOut] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last"
    )


EXAMPLE_MEDIA = ("0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7")
LEFT_OUT_EXAMPLE: dict[str, JsonValue] = {
    "media": EXAMPLE_MEDIA[1],
    "error": {
        "detail": f"media='{EXAMPLE_MEDIA[1]}': the workflow's crop=60,0,10,10: reaches past the "
        "right edge (x + w = 70) of the 64x48 picture; accepted: a media the workflow's "
        "operations fit",
        "error": "InvalidParameter",
        "parameter": "media",
        "value": EXAMPLE_MEDIA[1],
        "problem": "the workflow's crop=60,0,10,10: reaches past the right edge (x + w = 70) of "
        "the 64x48 picture",
        "accepted": "a media the workflow's operations fit",
    },
}


class RunBatchIn(BaseModel):
    media: list[UUID] = Field(
        description="The media to run it on, one edit each: all or none, unless `unfit` "
        "leaves out those the workflow does not fit",
        fail_fast=True,  # see WorkflowIn.ops
    )
    unfit: Unfit = Field(default="refuse", description=UNFIT_DESCRIPTION)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"media": list(EXAMPLE_MEDIA), "unfit": "leave_out"}]},
    )


class Refusal(BaseModel):
    """The refusal of one parameter's value: the ErrorBody of a 422 that names it, whole."""

    detail: str = Field(description="What went wrong and what to do, in a sentence")
    error: str = Field(description="The kind of error, e.g. InvalidParameter")
    parameter: str = Field(description="The parameter refused (for a media left out, media)")
    value: str = Field(description="The value it was given (the media's id)")
    problem: str = Field(
        description="What is wrong with the value, without naming the parameter: the detail's "
        "own words, for a client's own sentence"
    )
    accepted: str = Field(description="What that parameter accepts")


class LeftOutOut(BaseModel):
    """A media a batch left out, and why: the refusal a batch naming it would have had."""

    media: UUID = Field(description="The media left out, as the batch named it")
    error: Refusal = Field(
        description="Why: the body of the 422 a run of that media without leave_out answers"
    )

    model_config = ConfigDict(json_schema_extra={"examples": [LEFT_OUT_EXAMPLE]})


class BatchOut(BaseModel):
    edits: list[EditOut] = Field(
        description="One edit per media run, in the order given (those left out skipped)"
    )
    left_out: list[LeftOutOut] = Field(
        default_factory=list,
        description='The media left out (`"unfit": "leave_out"`), in the order given, each with '
        "why; empty when every media ran",
    )


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer says: what went wrong and, for a bad parameter, which
    one, the value given and what would be accepted."""

    detail: str = Field(description="What went wrong and what to do, in a sentence")
    error: str = Field(description="The kind of error, e.g. InvalidParameter, NotFound")
    parameter: str | None = Field(
        default=None, description="The parameter (or file, or body field) that was refused"
    )
    value: str | None = Field(default=None, description="The value it was given")
    problem: str | None = Field(
        default=None,
        description="What is wrong with the value, without naming the parameter: the detail's "
        "own words, for a client's own sentence (with parameter and value)",
    )
    accepted: str | None = Field(default=None, description="What that parameter accepts")
    problems: list[dict[str, str]] | None = Field(
        default=None,
        description="When a request had more than one problem: the first 10, each with its "
        "detail, parameter, value, problem and accepted (the first is the one named above)",
    )
    problems_not_listed: int | None = Field(
        default=None, description="How many more problems were found than `problems` lists"
    )
    left_out: list[LeftOutOut] | None = Field(
        default=None,
        description='When a batch run with `"unfit": "leave_out"` left out every media (nothing '
        "to run): each media, in the order given, with the refusal it had (`media`, `error`), "
        "as a run's answer lists them",
    )
    session_id: UUID | None = Field(
        default=None,
        description="When a media is not deleted because a session's step made it "
        "(`HeldBySession`): that session, which deleting frees it",
    )
    session_step: int | None = Field(
        default=None,
        description="With `session_id` (`HeldBySession`): the step of that session whose output "
        "the media is (from 1)",
    )
    session_media_id: UUID | None = Field(
        default=None,
        description="With `session_id` (`HeldBySession`): that session's original, the media "
        "whose editor holds the history",
    )


class ExecutionsPage(BaseModel):
    items: list[EditOut] = Field(description="Newest first")
    next_cursor: str | None = Field(
        description="Pass as cursor= for the next page; null on the last"
    )
    counts: dict[str, int] = Field(description="How many of its edits are in each status")
