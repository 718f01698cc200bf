"""What the API answers with: the JSON shapes of its resources."""

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from service.db import Row


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
            content_url=f"/bucket/upload/{row['id']}/content",
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
                    content_url=f"/bucket/upload/{media_id}/content",
                )
                for media_id in row["outputs"]
            ],
            url=url,
            events_url=f"{url}/events",
        )


_EDIT_COLUMNS = (
    "id", "media_id", "session_id", "workflow_id", "status", "ops", "priority", "trial",
    "max_trials", "progress", "error", "created_at", "run_after", "started_at", "finished_at",
)  # fmt: skip


class EditPage(BaseModel):
    items: list[EditOut]
    next_cursor: str | None


class StatusCount(BaseModel):
    status: str
    count: int
