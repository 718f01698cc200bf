"""The queue: media, edits, edit attempts, sessions, workflows and status counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE TYPE editroom.edit_status AS ENUM
    ('queued', 'processing', 'completed', 'error', 'failed', 'cancelled');

-- What an attempt ended as: the status the edit moved to, or `released` when a runner
-- handed it back unfinished (shutdown).
CREATE TYPE editroom.attempt_outcome AS ENUM
    ('completed', 'error', 'failed', 'cancelled', 'released');

CREATE TYPE editroom.media_kind AS ENUM ('image', 'video');

CREATE TABLE editroom.media (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          editroom.media_kind NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes >= 0),
    sha256        text UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key   text NOT NULL UNIQUE,
    original_name text,
    uploaded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE editroom.sessions (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    media_id   uuid NOT NULL REFERENCES editroom.media (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE editroom.workflows (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text NOT NULL CHECK (name <> ''),
    version    integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    ops        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ops) = 'array'),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- An update-heavy queue table: room on each page for HOT updates (heartbeats touch only
-- unindexed columns) and vacuum long before the default 20% of rows are dead.
CREATE TABLE editroom.edits (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    media_id    uuid NOT NULL REFERENCES editroom.media (id),
    session_id  uuid REFERENCES editroom.sessions (id) ON DELETE SET NULL,
    workflow_id uuid REFERENCES editroom.workflows (id),
    ops         jsonb NOT NULL CHECK (jsonb_typeof(ops) = 'array'),
    status      editroom.edit_status NOT NULL DEFAULT 'queued',
    priority    integer NOT NULL DEFAULT 0,
    trial       integer NOT NULL DEFAULT 0 CHECK (trial >= 0),
    max_trials  integer NOT NULL DEFAULT 3 CHECK (max_trials >= 1),
    run_after   timestamptz NOT NULL DEFAULT now(),
    locked_by   text,
    lease_until timestamptz,
    progress    real CHECK (progress >= 0 AND progress <= 1),
    error       text,
    outputs     uuid[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    started_at  timestamptz,
    finished_at timestamptz,
    CONSTRAINT edits_held_only_while_processing CHECK (
        (status = 'processing') = (locked_by IS NOT NULL AND lease_until IS NOT NULL)
    )
) WITH (
    fillfactor = 70,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);

-- The claim query walks this index in order and stops at its LIMIT.
CREATE INDEX edits_claimable_idx ON editroom.edits (priority DESC, created_at, id)
    WHERE status IN ('queued', 'error');
-- The reaper and the runners' view of held work; keyed on a column heartbeats never change.
CREATE INDEX edits_processing_idx ON editroom.edits (locked_by)
    WHERE status = 'processing';
CREATE INDEX edits_media_idx ON editroom.edits (media_id);
CREATE INDEX edits_session_idx ON editroom.edits (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX edits_workflow_idx ON editroom.edits (workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX edits_finished_idx ON editroom.edits (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');

CREATE TABLE editroom.edit_attempts (
    edit_id     uuid NOT NULL REFERENCES editroom.edits (id) ON DELETE CASCADE,
    trial       integer NOT NULL CHECK (trial >= 1),
    worker      text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    duration    interval GENERATED ALWAYS AS (finished_at - started_at) STORED,
    outcome     editroom.attempt_outcome,
    error       text,
    PRIMARY KEY (edit_id, trial),
    CONSTRAINT edit_attempts_finished_with_outcome CHECK (
        (finished_at IS NULL) = (outcome IS NULL)
    )
);
CREATE INDEX edit_attempts_finished_idx ON editroom.edit_attempts (finished_at);

-- status_counts() sums these instead of counting edits. Statement triggers add the deltas;
-- each backend writes its own shard so concurrent statements rarely wait on one row.
CREATE TABLE editroom.edit_status_counts (
    status editroom.edit_status NOT NULL,
    shard  smallint NOT NULL CHECK (shard >= 0 AND shard < 16),
    n      bigint NOT NULL,
    PRIMARY KEY (status, shard)
) WITH (fillfactor = 50);
"""

DOWNGRADE = """
DO $$
DECLARE
    v_function regprocedure;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.pronamespace = 'editroom'::regnamespace
    LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', v_function);
    END LOOP;
END
$$;
DROP TABLE editroom.edit_status_counts, editroom.edit_attempts, editroom.edits,
    editroom.workflows, editroom.sessions, editroom.media;
DROP TYPE editroom.media_kind, editroom.attempt_outcome, editroom.edit_status;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
