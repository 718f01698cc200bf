"""The runner's verdict on a failure, kept: `fails_alike` is true when it said the same work
would fail the same way (fail_edit's p_retryable false: a corrupt source, a crop past the
picture), so such an edit is told apart from one whose trials ran out. Before, only
`trial < max_trials` on a failed edit hinted at it, which a retry (max_trials raised) or a
last trial's verdict made wrong.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- One transaction, so both tables stay locked (ACCESS EXCLUSIVE) until the upgrade commits:
-- from the first statement, a new edit waits (it looks for an identical one in history), and
-- from edits', claims too, for as long as history's failed edits take to update (its rows
-- that failed only). A constant default: no rewrite of either table.
-- Failures from before: the best that was known, a failure with trials left (fail_edit
-- fails at once, its trials not used up, only when told the failure is not retryable). An
-- edit that never ran (trial 0: a session's step after one that failed) has no verdict.
ALTER TABLE editroom.edit_history ADD COLUMN fails_alike boolean NOT NULL DEFAULT false;
UPDATE editroom.edit_history SET fails_alike = true
 WHERE status = 'failed' AND trial > 0 AND trial < max_trials;
-- History keeps edits' columns in the same order (0009), and all_edits reads both.
ALTER TABLE editroom.edits ADD COLUMN fails_alike boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN editroom.edits.fails_alike IS
'true when the runner failed it saying the same work fails the same way (fail_edit with '
'p_retryable false); retry_edit refuses such an edit (editroom.retry_refusal).';
UPDATE editroom.edits SET fails_alike = true
 WHERE status = 'failed' AND trial > 0 AND trial < max_trials;
CREATE OR REPLACE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.retry_refusal(editroom.edits);
DROP FUNCTION IF EXISTS editroom.session_line(uuid);
DROP VIEW editroom.workflow_status_counts, editroom.all_edits;
ALTER TABLE editroom.edit_history DROP COLUMN fails_alike;
ALTER TABLE editroom.edits DROP COLUMN fails_alike;
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
