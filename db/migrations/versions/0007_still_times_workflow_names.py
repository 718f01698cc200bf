"""Stills record the time of the video they show (media.source_seconds); a workflow's name is
one live workflow (create_workflow answers the existing one).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# db/functions/ is re-applied at head. add_media gains p_source_seconds: the old signature
# goes, or a call with named arguments would find two candidates. create_workflow now also
# says whether it created the workflow: a new return type, so the old one goes.
UPGRADE = """
-- For a still of a video (thumbnail, frames): the second of its source video it shows.
ALTER TABLE editroom.media ADD COLUMN source_seconds double precision
    CHECK (source_seconds >= 0);
DROP FUNCTION IF EXISTS editroom.add_media(editroom.media_kind, text, bigint, text, text, text,
    integer, integer, double precision, double precision, text, text, uuid, uuid);
DROP FUNCTION IF EXISTS editroom.create_workflow(text, jsonb, editroom.media_kind[]);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.add_media(editroom.media_kind, text, bigint, text, text, text,
    integer, integer, double precision, double precision, text, text, uuid, uuid,
    double precision);
DROP FUNCTION IF EXISTS editroom.create_workflow(text, jsonb, editroom.media_kind[]);
ALTER TABLE editroom.media DROP COLUMN source_seconds;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
