"""The queue at production scale: counters no two transactions share, events once per
statement, a claim order that passes over edits in back-off, the indexes deletes and listings
were missing, and a record of the function files an upgrade last applied.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- A counter row per backend (shard = its pid): a transaction only ever updates its own
-- backend's rows, so counters cannot make two transactions wait on each other, whatever
-- order a trigger cascade touches statuses in. compact_status_counts folds the rows of
-- backends that have gone.
ALTER TABLE editroom.edit_status_counts
    DROP CONSTRAINT edit_status_counts_shard_check,
    ALTER COLUMN shard TYPE integer;

-- Events go out once per statement (db/functions/040): the row triggers go. (IF EXISTS: a
-- new database gets its functions and triggers only at head.)
DROP TRIGGER IF EXISTS edits_event_on_insert ON editroom.edits;
DROP TRIGGER IF EXISTS edits_event_on_update ON editroom.edits;

-- Claim order: priority, then how long it has been claimable (run_after: when it was queued,
-- or when its back-off ended). An edit still in back-off sorts after every edit of its
-- priority that is due, so the claim's LIMIT is reached before the scan meets it.
DROP INDEX editroom.edits_claimable_idx;
CREATE INDEX edits_claimable_idx ON editroom.edits (priority DESC, run_after, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL;

-- Foreign keys whose ON DELETE had to scan the referencing table, and a media's edits
-- listed newest first without sorting them all.
CREATE INDEX sessions_head_edit_idx ON editroom.sessions (head_edit_id)
    WHERE head_edit_id IS NOT NULL;
CREATE INDEX sessions_media_idx ON editroom.sessions (media_id);
CREATE INDEX media_source_media_idx ON editroom.media (source_media_id)
    WHERE source_media_id IS NOT NULL;
DROP INDEX editroom.edits_media_idx;
CREATE INDEX edits_media_idx ON editroom.edits (media_id, created_at DESC, id DESC);

-- What `editroom db upgrade` last applied from db/functions: with nothing to migrate and
-- nothing changed, it re-creates no function and no trigger (each takes a lock on edits).
CREATE TABLE editroom.applied_functions (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    files_sha256 text NOT NULL,
    definitions_md5 text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- Attempts are fenced by their trial: the signatures that named only the worker go (the
-- files re-create them with p_trial).
DROP FUNCTION IF EXISTS editroom.heartbeat_edit(uuid, text, real, interval);
DROP FUNCTION IF EXISTS editroom.complete_edit(uuid, text, uuid[]);
DROP FUNCTION IF EXISTS editroom.complete_edits(text, jsonb);
DROP FUNCTION IF EXISTS editroom.fail_edit(uuid, text, text, boolean);
DROP FUNCTION IF EXISTS editroom.release_edit(uuid, text);
DROP FUNCTION IF EXISTS editroom.set_progress_detail(uuid, text, jsonb);
DROP FUNCTION IF EXISTS editroom.lock_held_edit(uuid, text);
DROP FUNCTION IF EXISTS editroom.raise_not_held(uuid, text);
"""

DOWNGRADE = """
DROP TABLE editroom.applied_functions;
DROP INDEX editroom.edits_media_idx;
CREATE INDEX edits_media_idx ON editroom.edits (media_id);
DROP INDEX editroom.media_source_media_idx, editroom.sessions_media_idx,
    editroom.sessions_head_edit_idx;
DROP INDEX editroom.edits_claimable_idx;
CREATE INDEX edits_claimable_idx ON editroom.edits (priority DESC, created_at, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL;
-- 0005's downgrade replaces this one; the previous release's files restore the rest.
DROP TRIGGER edits_event_on_insert ON editroom.edits;
DROP TRIGGER edits_event_on_update ON editroom.edits;
CREATE TRIGGER edits_event_on_update
    AFTER UPDATE ON editroom.edits
    FOR EACH ROW
    EXECUTE FUNCTION editroom.edits_notify_event();
CREATE TEMPORARY TABLE counts AS
    SELECT status, sum(n) AS n FROM editroom.edit_status_counts GROUP BY status;
DELETE FROM editroom.edit_status_counts;
ALTER TABLE editroom.edit_status_counts
    ALTER COLUMN shard TYPE smallint,
    ADD CONSTRAINT edit_status_counts_shard_check CHECK (shard >= 0 AND shard < 16);
INSERT INTO editroom.edit_status_counts (status, shard, n) SELECT status, 0, n FROM counts;
DROP TABLE counts;  -- before an older downgrade drops the type it uses
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
