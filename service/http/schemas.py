"""What the API answers with: the JSON shapes of its resources."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, Field

from runner.engine.ops.base import MediaKind
from service.http.urls import absolute
from service.kernel.db import Row


class Codecs(BaseModel):
    video: str | None
    audio: str | None


class MediaOut(BaseModel):
    id: UUID
    kind: str
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    frame_rate: float | None
    codecs: Codecs
    original_name: str | None
    uploaded_at: datetime
    source_edit_id: UUID | None
    source_media_id: UUID | None
    content_url: str

    @classmethod
    def from_row(cls, row: Row, **extra: Any) -> "MediaOut":
        return cls(
            **{name: row[name] for name in _MEDIA_COLUMNS},
            codecs=Codecs(video=row["video_codec"], audio=row["audio_codec"]),
            content_url=absolute(f"/bucket/upload/{row['id']}/content"),
            **extra,
        )


_MEDIA_COLUMNS = (
    "id", "kind", "content_type", "size_bytes", "sha256", "width", "height",
    "duration_seconds", "frame_rate", "original_name", "uploaded_at", "source_edit_id",
    "source_media_id",
)  # fmt: skip


class UploadOut(MediaOut):
    duplicate: bool


class MediaPage(BaseModel):
    items: list[MediaOut]
    next_cursor: str | None


class PresignOut(BaseModel):
    id: UUID
    upload_url: str
    method: str
    expires_at: datetime
    complete_url: str


class OutputOut(BaseModel):
    id: UUID
    url: str
    content_url: str


class EditOut(BaseModel):
    id: UUID
    media_id: UUID | None
    session_id: UUID | None
    workflow_id: UUID | None
    status: str
    ops: list[dict[str, Any]]
    priority: int
    trial: int
    max_trials: int
    progress: float | None
    progress_detail: dict[str, Any] | None
    error: str | None
    outputs: list[OutputOut]
    created_at: datetime
    run_after: datetime
    started_at: datetime | None
    finished_at: datetime | None
    url: str
    events_url: str

    @classmethod
    def from_row(cls, row: Row) -> "EditOut":
        url = f"/edit/{row['id']}"
        return cls(
            **{name: row[name] for name in _EDIT_COLUMNS},
            outputs=[
                OutputOut(
                    id=media_id,
                    url=f"/bucket/upload/{media_id}",
                    content_url=absolute(f"/bucket/upload/{media_id}/content"),
                )
                for media_id in row["outputs"]
            ],
            url=url,
            events_url=f"{url}/events",
        )


_EDIT_COLUMNS = (
    "id", "media_id", "session_id", "workflow_id", "status", "ops", "priority", "trial",
    "max_trials", "progress", "progress_detail", "error", "created_at", "run_after",
    "started_at", "finished_at",
)  # fmt: skip


class EditPage(BaseModel):
    items: list[EditOut]
    next_cursor: str | None


class StatusCount(BaseModel):
    status: str
    count: int


class HeadOut(BaseModel):
    edit_id: UUID | None
    media_id: UUID
    content_url: str


class StepOut(BaseModel):
    step: int
    edit_id: UUID
    ops: list[dict[str, Any]]
    status: str
    input_media_id: UUID | None
    output_media_ids: list[UUID]
    follows_edit_id: UUID | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    is_head: bool

    @classmethod
    def from_row(cls, row: Row, head_edit_id: UUID | None) -> "StepOut":
        return cls(
            step=row["session_step"],
            edit_id=row["id"],
            ops=row["ops"],
            status=row["status"],
            input_media_id=row["media_id"],
            output_media_ids=row["outputs"],
            follows_edit_id=row["parent_edit_id"],
            error=row["error"],
            created_at=row["created_at"],
            finished_at=row["finished_at"],
            is_head=row["id"] == head_edit_id,
        )


class SessionOut(BaseModel):
    id: UUID
    media_id: UUID
    head: HeadOut
    busy: bool
    can_undo: bool
    can_redo: bool
    created_at: datetime
    updated_at: datetime
    url: str
    steps: list[StepOut] | None = None

    @classmethod
    def from_row(cls, row: Row, steps: list[Row] | None = None) -> "SessionOut":
        head = row["head_media_id"]
        return cls(
            id=row["id"],
            media_id=row["media_id"],
            head=HeadOut(
                edit_id=row["head_edit_id"],
                media_id=head,
                content_url=absolute(f"/bucket/upload/{head}/content"),
            ),
            busy=row["busy"],
            can_undo=row["can_undo"],
            can_redo=row["can_redo"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            url=f"/sessions/{row['id']}",
            steps=None
            if steps is None
            else [StepOut.from_row(step, row["head_edit_id"]) for step in steps],
        )


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class WorkflowIn(BaseModel):
    """A workflow as exported; read-only fields of an export are accepted and ignored, so an
    export imports as it is."""

    name: str
    ops: list[dict[str, Any]]
    kinds: list[MediaKind] | None = Field(
        default=None, min_length=1,
        description="the media kinds it runs on; without it, every kind its operations fit",
    )  # fmt: skip


class WorkflowOut(BaseModel):
    id: UUID
    name: str
    version: int
    kinds: list[str]
    ops: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    url: str
    executions_url: str

    @classmethod
    def from_row(cls, row: Row) -> "WorkflowOut":
        url = f"/workflows/{row['id']}"
        return cls(
            **{name: row[name] for name in _WORKFLOW_COLUMNS},
            url=url,
            executions_url=f"{url}/executions",
        )


_WORKFLOW_COLUMNS = (
    "id", "name", "version", "kinds", "ops", "created_at", "updated_at", "deleted_at",
)  # fmt: skip


class WorkflowPage(BaseModel):
    items: list[WorkflowOut]
    next_cursor: str | None


class RunBatchIn(BaseModel):
    media: list[UUID]


class BatchOut(BaseModel):
    edits: list[EditOut]


class ExecutionsPage(BaseModel):
    items: list[EditOut]
    next_cursor: str | None
    counts: dict[str, int]
