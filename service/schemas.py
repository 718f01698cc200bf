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
