"""Imports from a URL: jobs with no source media, whose progress says bytes, not only a fraction.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- What else a job's progress says: for an import {"bytes": N, "total_bytes": M or null}.
ALTER TABLE editroom.edits ADD COLUMN progress_detail jsonb
    CHECK (jsonb_typeof(progress_detail) = 'object');
"""

DOWNGRADE = """
-- The event trigger (db/functions/040) watches the column: put back the one 0004 had.
DROP TRIGGER edits_event_on_update ON editroom.edits;
ALTER TABLE editroom.edits DROP COLUMN progress_detail;
CREATE TRIGGER edits_event_on_update
    AFTER UPDATE ON editroom.edits
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.progress IS DISTINCT FROM NEW.progress)
    EXECUTE FUNCTION editroom.edits_notify_event();
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
