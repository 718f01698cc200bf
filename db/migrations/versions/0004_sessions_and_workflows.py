"""Editing sessions (a head that moves, steps that wait for each other) and versioned
workflows with their executions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- Sessions: the head is the completed step whose output the next edit reads (NULL: the
-- original media). Deleting the original takes its sessions with it.
ALTER TABLE editroom.sessions
    ADD COLUMN head_edit_id uuid REFERENCES editroom.edits (id) ON DELETE SET NULL,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    DROP CONSTRAINT sessions_media_id_fkey,
    ADD CONSTRAINT sessions_media_id_fkey FOREIGN KEY (media_id)
        REFERENCES editroom.media (id) ON DELETE CASCADE;
CREATE INDEX sessions_listing_idx ON editroom.sessions (created_at DESC, id DESC);

-- Workflows keep every version; edits name the version they ran.
CREATE TABLE editroom.workflow_versions (
    workflow_id uuid NOT NULL REFERENCES editroom.workflows (id) ON DELETE CASCADE,
    version     integer NOT NULL CHECK (version >= 1),
    ops         jsonb NOT NULL CHECK (jsonb_typeof(ops) = 'array'),
    kinds       editroom.media_kind[] NOT NULL CHECK (cardinality(kinds) >= 1),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, version)
);
INSERT INTO editroom.workflow_versions (workflow_id, version, ops, kinds, created_at)
SELECT id, version, ops, '{image,video}', created_at FROM editroom.workflows;
ALTER TABLE editroom.workflows
    DROP COLUMN ops,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX workflows_listing_idx ON editroom.workflows (created_at DESC, id DESC)
    WHERE deleted_at IS NULL;

-- A session step reads its parent's output; while the parent has not completed, the step is
-- blocked by it and is no candidate for claim_edits at all. Its step number outlives a deleted
-- session (the edit stays, as step N of a session that is gone).
ALTER TABLE editroom.edits
    ADD COLUMN parent_edit_id uuid REFERENCES editroom.edits (id) ON DELETE SET NULL,
    ADD COLUMN blocked_by uuid REFERENCES editroom.edits (id) ON DELETE SET NULL,
    ADD COLUMN session_step integer CHECK (session_step >= 1),
    ADD COLUMN workflow_version integer,
    ADD CONSTRAINT edits_workflow_version_fkey FOREIGN KEY (workflow_id, workflow_version)
        REFERENCES editroom.workflow_versions (workflow_id, version);

DROP INDEX editroom.edits_claimable_idx;
CREATE INDEX edits_claimable_idx ON editroom.edits (priority DESC, created_at, id)
    WHERE status IN ('queued', 'error') AND blocked_by IS NULL;
CREATE INDEX edits_blocked_by_idx ON editroom.edits (blocked_by) WHERE blocked_by IS NOT NULL;
CREATE INDEX edits_parent_idx ON editroom.edits (parent_edit_id)
    WHERE parent_edit_id IS NOT NULL;
DROP INDEX editroom.edits_session_idx;
CREATE UNIQUE INDEX edits_session_step_idx ON editroom.edits (session_id, session_step)
    WHERE session_id IS NOT NULL;
DROP INDEX editroom.edits_workflow_idx;
CREATE INDEX edits_workflow_idx ON editroom.edits (workflow_id, created_at DESC, id DESC)
    WHERE workflow_id IS NOT NULL;

-- status_counts(), per workflow: every status, zeros included.
CREATE VIEW editroom.workflow_status_counts AS
SELECT w.id AS workflow_id, s.status::text AS status, count(e.id) AS count
  FROM editroom.workflows w
 CROSS JOIN unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
  LEFT JOIN editroom.edits e ON e.workflow_id = w.id AND e.status = s.status
 GROUP BY w.id, s.status;
COMMENT ON VIEW editroom.workflow_status_counts IS
'How many of each workflow''s executions (edits) are in each status, zeros included.';
"""

DOWNGRADE = """
DROP VIEW editroom.workflow_status_counts;
DROP INDEX editroom.edits_workflow_idx;
CREATE INDEX edits_workflow_idx ON editroom.edits (workflow_id) WHERE workflow_id IS NOT NULL;
DROP INDEX editroom.edits_session_step_idx;
CREATE INDEX edits_session_idx ON editroom.edits (session_id) WHERE session_id IS NOT NULL;
DROP INDEX editroom.edits_parent_idx, editroom.edits_blocked_by_idx, editroom.edits_claimable_idx;
CREATE INDEX edits_claimable_idx ON editroom.edits (priority DESC, created_at, id)
    WHERE status IN ('queued', 'error');
ALTER TABLE editroom.edits
    DROP CONSTRAINT edits_workflow_version_fkey,
    DROP COLUMN workflow_version, DROP COLUMN session_step, DROP COLUMN blocked_by,
    DROP COLUMN parent_edit_id;
DROP INDEX editroom.workflows_listing_idx;
ALTER TABLE editroom.workflows
    DROP COLUMN updated_at,
    ADD COLUMN ops jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ops) = 'array');
UPDATE editroom.workflows w SET ops = v.ops
  FROM editroom.workflow_versions v WHERE v.workflow_id = w.id AND v.version = w.version;
DROP TABLE editroom.workflow_versions;
DROP INDEX editroom.sessions_listing_idx;
ALTER TABLE editroom.sessions
    DROP CONSTRAINT sessions_media_id_fkey,
    ADD CONSTRAINT sessions_media_id_fkey FOREIGN KEY (media_id) REFERENCES editroom.media (id),
    DROP COLUMN updated_at,
    DROP COLUMN head_edit_id;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
