"""Results are content-addressed: an edit carries its key (the source's SHA-256, its media kind
and its canonical operations, hashed), so an identical edit is reused or joined, not run again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- NULL for edits that are never reused: session steps, workflow runs, imports, and every
-- edit made before keys existed.
ALTER TABLE editroom.edits ADD COLUMN edit_key text
    CHECK (edit_key ~ '^[0-9a-f]{64}$');
-- enqueue_edit_once looks an edit up by key, the newest first.
CREATE INDEX edits_key_idx ON editroom.edits (edit_key, created_at DESC)
    WHERE edit_key IS NOT NULL;
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.enqueue_edit_once(uuid, jsonb, text, boolean, integer, integer);
DROP INDEX editroom.edits_key_idx;
ALTER TABLE editroom.edits DROP COLUMN edit_key;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
