"""Whether an edit still to run reads a media, found through an index: delete_media asked it of
every edit queued, running or waiting to retry, matching each one's operations as text
(strpos), so deleting one media read the whole backlog under the media's lock.

A partial GIN index over the media ids the operations of edits still to run name (an
operation's `media`: concat's list or an overlay's field), and only of those that name any: an
edit that reads no other media, nearly every one, adds no entry as it is enqueued and claimed.
The source is found by edits_media_idx.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- Writes to edits wait while it builds (a SHARE lock); it reads the live edits only. The
-- predicate is edit_still_to_run's, as the planner sees it inlined, and delete_media's own.
CREATE INDEX edits_still_to_run_reads_idx
    ON editroom.edits USING gin (jsonb_path_query_array(ops, 'lax $[*].media[*]') jsonb_path_ops)
    WHERE status IN ('queued', 'processing', 'error') AND ops @? 'lax $[*].media';
"""

DOWNGRADE = """
DROP INDEX editroom.edits_still_to_run_reads_idx;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
