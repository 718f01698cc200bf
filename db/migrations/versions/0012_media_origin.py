"""Where a media came from: `upload` (uploaded, directly or presigned), `import` (fetched
from a URL by an import job) or `edit` (an edit's output). Imports are originals, as uploads
are, though a job (their source edit) made them: the library's originals are uploads and
imports, and `source_edit_id` alone could not tell an import from an edit.

And codecs by their own names: the probe had recorded the name of the decoder FFmpeg chose,
libdav1d for AV1, mp3float for MP3, libopus for Opus, beside h264 and aac.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
ALTER TABLE editroom.media ADD COLUMN origin text NOT NULL DEFAULT 'upload'
    CHECK (origin IN ('upload', 'import', 'edit'));
-- An import job has no source media and runs one operation, import (0005); its history is
-- kept with the other edits' (all_edits). A source edit no longer known is taken for an edit.
UPDATE editroom.media m
   SET origin = CASE WHEN EXISTS (
                         SELECT FROM editroom.all_edits e
                          WHERE e.id = m.source_edit_id AND e.media_id IS NULL
                            AND e.ops -> 0 ->> 'op' = 'import')
                     THEN 'import' ELSE 'edit' END
 WHERE m.source_edit_id IS NOT NULL;
UPDATE editroom.media SET video_codec = 'av1' WHERE video_codec IN ('libdav1d', 'libaom-av1');
UPDATE editroom.media SET audio_codec = CASE audio_codec WHEN 'mp3float' THEN 'mp3'
                                                         WHEN 'libopus' THEN 'opus' END
 WHERE audio_codec IN ('mp3float', 'libopus');
"""

DOWNGRADE = """
ALTER TABLE editroom.media DROP COLUMN origin;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
