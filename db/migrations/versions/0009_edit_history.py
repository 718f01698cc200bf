"""History off the hot path: finished edits that are not a session's steps, and their attempts,
move out of editroom.edits into tables partitioned by day of finish, and retention drops whole
days instead of deleting rows. Attempts carry their edit's kind, so monitoring never joins edits.

Existing finished edits are not moved here: a migration that moved them would hold edits for
as long as the move takes, and every enqueue with it. The runners' archive_finished_edits moves
them in bounded batches once this is deployed (db/functions/180_edit_history.sql).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- The same columns as edits, in the same order, so a row moves between the two with
-- INSERT ... SELECT * and either reads as an editroom.edits row (the view all_edits). A
-- column added to edits must be added here at the same place, and all_edits re-created
-- (tests/integration/test_edit_history.py checks). Insert-only: no fillfactor, no queue
-- indexes, only what the reads of finished edits use. Partitions are made by
-- add_history_partition, one a day (UTC).
CREATE TABLE editroom.edit_history (LIKE editroom.edits INCLUDING DEFAULTS)
    PARTITION BY RANGE (finished_at);
ALTER TABLE editroom.edit_history ALTER COLUMN finished_at SET NOT NULL,
    ADD FOREIGN KEY (media_id) REFERENCES editroom.media (id) ON DELETE SET NULL;
CREATE INDEX edit_history_id_idx ON editroom.edit_history (id);
CREATE INDEX edit_history_listing_idx ON editroom.edit_history (created_at DESC, id DESC);
CREATE INDEX edit_history_status_listing_idx
    ON editroom.edit_history (status, created_at DESC, id DESC);
CREATE INDEX edit_history_media_idx ON editroom.edit_history (media_id, created_at DESC, id DESC);
CREATE INDEX edit_history_workflow_idx
    ON editroom.edit_history (workflow_id, created_at DESC, id DESC)
    WHERE workflow_id IS NOT NULL;
CREATE INDEX edit_history_key_idx ON editroom.edit_history (edit_key, created_at DESC)
    WHERE edit_key IS NOT NULL;

-- Every edit, live or archived: what GET /edit/{id} and the listings read.
CREATE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;
COMMENT ON VIEW editroom.all_edits IS
'Every edit: those in editroom.edits (still to run, a session''s steps, recently finished) and '
'those archived to editroom.edit_history. Filter it as you would edits; each table''s indexes '
'(and each day''s) are used.';
-- A workflow's executions are counted wherever they are.
CREATE OR REPLACE VIEW editroom.workflow_status_counts AS
SELECT w.id AS workflow_id, s.status::text AS status, count(e.id) AS count
  FROM editroom.workflows w
 CROSS JOIN unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
  LEFT JOIN editroom.all_edits e ON e.workflow_id = w.id AND e.status = s.status
 GROUP BY w.id, s.status;

-- Attempts of archived edits, by the day each finished: monitoring's recent window reads the
-- newest partition or two, and retention drops old days with their edits.
CREATE TABLE editroom.edit_attempt_history (
    edit_id uuid NOT NULL,
    trial integer NOT NULL,
    worker text NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    outcome editroom.attempt_outcome,
    error text,
    kind text
) PARTITION BY RANGE (finished_at);
CREATE INDEX edit_attempt_history_edit_idx ON editroom.edit_attempt_history (edit_id, trial);
CREATE INDEX edit_attempt_history_finished_idx ON editroom.edit_attempt_history (finished_at);

-- How many archived edits each day's partition holds, by status: dropping a day takes its
-- edits off status_counts() without counting them. A row per backend (shard = its pid), like
-- edit_status_counts, so archivers never wait on each other's counters.
CREATE TABLE editroom.edit_history_counts (
    day date NOT NULL,
    status editroom.edit_status NOT NULL,
    shard integer NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (day, status, shard)
);

-- An attempt's kind (editroom.edit_kind), set when it starts: quantiles by kind read attempts
-- only. The open ones and the last hour's are filled in here; older rows stay NULL.
ALTER TABLE editroom.edit_attempts ADD COLUMN kind text;
UPDATE editroom.edit_attempts a
   SET kind = CASE WHEN m.kind IS NOT NULL THEN m.kind::text
                   WHEN e.ops -> 0 ->> 'op' = 'import' THEN 'import'
                   ELSE 'unknown' END
  FROM editroom.edits e
  LEFT JOIN editroom.media m ON m.id = e.media_id
 WHERE e.id = a.edit_id
   AND (a.finished_at IS NULL OR a.finished_at > now() - interval '1 hour');

-- Every attempt, of live or archived edits: what a DBA's queries and the alerts' hints read.
CREATE VIEW editroom.all_edit_attempts AS
    SELECT a.edit_id, a.trial, a.worker, a.started_at, a.finished_at, a.outcome, a.error,
           a.kind, a.duration
      FROM editroom.edit_attempts a
    UNION ALL
    SELECT h.edit_id, h.trial, h.worker, h.started_at, h.finished_at, h.outcome, h.error,
           h.kind, h.finished_at - h.started_at
      FROM editroom.edit_attempt_history h;
COMMENT ON VIEW editroom.all_edit_attempts IS
'Every attempt: those of edits in editroom.edits (edit_attempts) and of archived edits '
'(edit_attempt_history). A bound on finished_at reads only the days it covers.';

-- The archiver's index: finished edits that are not a session's steps, oldest first. Kept
-- steps are not in it, so however many a session keeps, archiving never reads them.
DROP INDEX editroom.edits_finished_idx;
CREATE INDEX edits_archivable_idx ON editroom.edits (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled') AND session_id IS NULL;

-- References that moving a row would have broken: ON DELETE SET NULL would erase a result's
-- provenance, or a former session step's parent, when the edit moved to history. They stay
-- ids of an edit that exists in edits or edit_history, or did until retention dropped it.
ALTER TABLE editroom.media DROP CONSTRAINT media_source_edit_id_fkey;
ALTER TABLE editroom.edits DROP CONSTRAINT edits_parent_edit_id_fkey;

-- Retention drops partitions now; the row-by-row version goes.
DROP FUNCTION IF EXISTS editroom.prune_finished_edits(interval, integer);
"""

DOWNGRADE = """
-- Archived edits come back into edits, and their attempts, so nothing is lost. They are
-- counted already (status_counts() counts archived edits), so no trigger fires for the move:
-- edits' triggers are the head's until the function files are applied again, and may name
-- columns that later migrations' downgrades have dropped (edits.kind).
ALTER TABLE editroom.edits DISABLE TRIGGER USER;
INSERT INTO editroom.edits SELECT * FROM editroom.edit_history;
ALTER TABLE editroom.edits ENABLE TRIGGER USER;
TRUNCATE editroom.edit_history;
INSERT INTO editroom.edit_attempts (edit_id, trial, worker, started_at, finished_at, outcome,
                                    error, kind)
SELECT edit_id, trial, worker, started_at, finished_at, outcome, error, kind
  FROM editroom.edit_attempt_history;
DROP FUNCTION IF EXISTS editroom.archive_finished_edits(interval, integer);
DROP FUNCTION IF EXISTS editroom.prune_finished_edits(interval);
DROP FUNCTION IF EXISTS editroom.add_history_partition(date);
DROP FUNCTION IF EXISTS editroom.restore_archived_edit(uuid);
CREATE OR REPLACE VIEW editroom.workflow_status_counts AS
SELECT w.id AS workflow_id, s.status::text AS status, count(e.id) AS count
  FROM editroom.workflows w
 CROSS JOIN unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
  LEFT JOIN editroom.edits e ON e.workflow_id = w.id AND e.status = s.status
 GROUP BY w.id, s.status;
DROP VIEW editroom.all_edits, editroom.all_edit_attempts;
DROP TABLE editroom.edit_history, editroom.edit_attempt_history, editroom.edit_history_counts;
DROP FUNCTION IF EXISTS editroom.edit_history_after_insert();
DROP FUNCTION IF EXISTS editroom.edit_history_after_delete();
ALTER TABLE editroom.edits ADD CONSTRAINT edits_parent_edit_id_fkey
    FOREIGN KEY (parent_edit_id) REFERENCES editroom.edits (id) ON DELETE SET NULL NOT VALID;
ALTER TABLE editroom.media ADD CONSTRAINT media_source_edit_id_fkey
    FOREIGN KEY (source_edit_id) REFERENCES editroom.edits (id) ON DELETE SET NULL NOT VALID;
DROP INDEX editroom.edits_archivable_idx;
CREATE INDEX edits_finished_idx ON editroom.edits (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
ALTER TABLE editroom.edit_attempts DROP COLUMN kind;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
