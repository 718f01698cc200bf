"""Named lanes: an edit carries its kind (image, video or import), set when it is queued, so a
runner claims per kind with a slot limit of each, and a claim of one kind walks an index of
that kind's claimable edits only (no join to media per candidate).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- NULL for a session step whose input is not known yet (set when the step before it
-- completes) and for edits finished before lanes existed.
ALTER TABLE editroom.edits ADD COLUMN kind text
    CHECK (kind IN ('image', 'video', 'import'));
-- History keeps edits' columns in the same order (0009), and all_edits reads both.
ALTER TABLE editroom.edit_history ADD COLUMN kind text;
CREATE OR REPLACE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;
-- Edits still to run get theirs now (finished ones are history: no rewrite of every row).
UPDATE editroom.edits e SET kind = m.kind::text
  FROM editroom.media m
 WHERE m.id = e.media_id AND e.status IN ('queued', 'processing', 'error');
UPDATE editroom.edits SET kind = 'import'
 WHERE media_id IS NULL AND ops -> 0 ->> 'op' = 'import'
   AND status IN ('queued', 'processing', 'error');
-- claim_edits_in_lanes walks one per lane, in claim_edits' order. One partial index per kind
-- (not one led by kind): a query naming its kind as a constant matches only its own, and the
-- planner can never prefer edits_claimable_idx filtered by kind, which reads every claimable
-- edit of the other kinds before an empty lane's claim gives up. An edit is in one of them.
CREATE INDEX edits_image_claimable_idx ON editroom.edits (priority DESC, run_after, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL AND kind = 'image';
CREATE INDEX edits_video_claimable_idx ON editroom.edits (priority DESC, run_after, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL AND kind = 'video';
CREATE INDEX edits_import_claimable_idx ON editroom.edits (priority DESC, run_after, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL AND kind = 'import';
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.claim_edits_in_lanes(text, text[], integer[], interval);
DROP INDEX editroom.edits_image_claimable_idx, editroom.edits_video_claimable_idx,
    editroom.edits_import_claimable_idx;
DROP VIEW editroom.workflow_status_counts, editroom.all_edits;
ALTER TABLE editroom.edit_history DROP COLUMN kind;
ALTER TABLE editroom.edits DROP COLUMN kind;
CREATE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;
CREATE VIEW editroom.workflow_status_counts AS
SELECT w.id AS workflow_id, s.status::text AS status, count(e.id) AS count
  FROM editroom.workflows w
 CROSS JOIN unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
  LEFT JOIN editroom.all_edits e ON e.workflow_id = w.id AND e.status = s.status
 GROUP BY w.id, s.status;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
