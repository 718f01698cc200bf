"""The media library: what was probed, pending presigned uploads, where outputs came from.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- pending: a presigned upload was handed out and its bytes are not verified yet.
CREATE TYPE editroom.media_status AS ENUM ('pending', 'ready');

ALTER TABLE editroom.media
    ADD COLUMN status editroom.media_status NOT NULL DEFAULT 'ready',
    ADD COLUMN width integer CHECK (width > 0),
    ADD COLUMN height integer CHECK (height > 0),
    ADD COLUMN duration_seconds double precision CHECK (duration_seconds >= 0),
    ADD COLUMN frame_rate double precision CHECK (frame_rate > 0),
    ADD COLUMN video_codec text,
    ADD COLUMN audio_codec text,
    ADD COLUMN expected_size_bytes bigint CHECK (expected_size_bytes >= 0),
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN source_edit_id uuid REFERENCES editroom.edits (id) ON DELETE SET NULL,
    ADD COLUMN source_media_id uuid REFERENCES editroom.media (id) ON DELETE SET NULL,
    ALTER COLUMN kind DROP NOT NULL,
    ALTER COLUMN content_type DROP NOT NULL,
    ALTER COLUMN size_bytes DROP NOT NULL,
    ADD CONSTRAINT media_ready_is_described CHECK (
        status = 'pending'
        OR (kind IS NOT NULL AND content_type IS NOT NULL AND size_bytes IS NOT NULL
            AND sha256 IS NOT NULL)
    ),
    ADD CONSTRAINT media_pending_expires CHECK (status = 'ready' OR expires_at IS NOT NULL);

-- Newest first, with or without a kind filter, always keyset (uploaded_at, id).
CREATE INDEX media_listing_idx ON editroom.media (uploaded_at DESC, id DESC)
    WHERE status = 'ready';
CREATE INDEX media_kind_listing_idx ON editroom.media (kind, uploaded_at DESC, id DESC)
    WHERE status = 'ready';
CREATE INDEX media_pending_idx ON editroom.media (expires_at) WHERE status = 'pending';
CREATE INDEX media_source_edit_idx ON editroom.media (source_edit_id)
    WHERE source_edit_id IS NOT NULL;

-- Deleting a source keeps the history of the edits made to it.
ALTER TABLE editroom.edits
    ALTER COLUMN media_id DROP NOT NULL,
    DROP CONSTRAINT edits_media_id_fkey,
    ADD CONSTRAINT edits_media_id_fkey FOREIGN KEY (media_id)
        REFERENCES editroom.media (id) ON DELETE SET NULL;
"""

DOWNGRADE = """
DELETE FROM editroom.media WHERE status = 'pending';
ALTER TABLE editroom.edits
    DROP CONSTRAINT edits_media_id_fkey,
    ADD CONSTRAINT edits_media_id_fkey FOREIGN KEY (media_id) REFERENCES editroom.media (id),
    ALTER COLUMN media_id SET NOT NULL;
DROP INDEX editroom.media_listing_idx, editroom.media_kind_listing_idx,
    editroom.media_pending_idx, editroom.media_source_edit_idx;
ALTER TABLE editroom.media
    DROP CONSTRAINT media_ready_is_described,
    DROP CONSTRAINT media_pending_expires,
    DROP COLUMN status, DROP COLUMN width, DROP COLUMN height, DROP COLUMN duration_seconds,
    DROP COLUMN frame_rate, DROP COLUMN video_codec, DROP COLUMN audio_codec,
    DROP COLUMN expected_size_bytes, DROP COLUMN expires_at, DROP COLUMN created_at,
    DROP COLUMN source_edit_id, DROP COLUMN source_media_id,
    ALTER COLUMN kind SET NOT NULL,
    ALTER COLUMN content_type SET NOT NULL,
    ALTER COLUMN size_bytes SET NOT NULL;
DROP TYPE editroom.media_status;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
