"""Stills record the time of the video they show: media.source_seconds.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# add_media gains p_source_seconds (db/functions/200_media.sql, re-applied at head): the old
# signature goes, or a call with named arguments would find two candidates.
UPGRADE = """
-- For a still of a video (thumbnail, frames): the second of its source video it shows.
ALTER TABLE editroom.media ADD COLUMN source_seconds double precision
    CHECK (source_seconds >= 0);
DROP FUNCTION IF EXISTS editroom.add_media(editroom.media_kind, text, bigint, text, text, text,
    integer, integer, double precision, double precision, text, text, uuid, uuid);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.add_media(editroom.media_kind, text, bigint, text, text, text,
    integer, integer, double precision, double precision, text, text, uuid, uuid,
    double precision);
ALTER TABLE editroom.media DROP COLUMN source_seconds;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
