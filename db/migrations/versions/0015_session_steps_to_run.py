"""A session's steps still to run, found without reading its finished ones: whether a session
is busy is asked for every step it shows (retry_refusal: `retryable`), for every step added
(next_session_step), and by undo, redo and delete. Through (session_id, session_step) it read
every step the session ever had: a session of thousands of failed steps (one failure ends
every step queued behind it) cost seconds per read, and its rows could tip a cached plan into
reading all of edits for everyone's sessions.

A partial index: only steps queued, running or waiting to retry are in it, a few per session.
And the outputs of session steps (a GIN index, session steps only): deleting a media asks
whether a step of a session made it, which read every session step of every session.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- Writes to edits wait while it builds (a SHARE lock): it reads the live edits only, history
-- is elsewhere. The predicate is edit_still_to_run's, as the planner sees it inlined.
CREATE INDEX edits_session_still_to_run_idx ON editroom.edits (session_id)
    WHERE session_id IS NOT NULL AND status IN ('queued', 'processing', 'error');
CREATE INDEX edits_session_outputs_idx ON editroom.edits USING gin (outputs)
    WHERE session_id IS NOT NULL;
"""

DOWNGRADE = """
DROP INDEX editroom.edits_session_still_to_run_idx, editroom.edits_session_outputs_idx;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
