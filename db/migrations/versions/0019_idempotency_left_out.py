"""A workflow batch's Idempotency-Key keeps what the batch left out (`"unfit": "leave_out"`),
as its answer said it: a replay answers the stored edits and the stored left_out, never a
judgement of the workflow and media as they are by then (a new version, a kind dropped, an
overlay deleted would otherwise refuse a replay, or list a media both as run and left out).

keep_idempotency_key takes it (p_left_out): its two-argument form is dropped here, or a call
with two would be ambiguous. Keys kept before this revision have none (NULL): their replays
say nothing was left out; they expire within a window (a day by default).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
ALTER TABLE editroom.idempotency_keys ADD COLUMN left_out jsonb;
COMMENT ON COLUMN editroom.idempotency_keys.left_out IS
'The media a workflow batch with this key left out, each with its refusal, as its answer said '
'them (a JSON array); NULL for any other request.';
DROP FUNCTION IF EXISTS editroom.keep_idempotency_key(text, uuid[]);
"""

DOWNGRADE = """
-- The two-argument form comes back with the function files of the revision gone to.
DROP FUNCTION IF EXISTS editroom.keep_idempotency_key(text, uuid[], jsonb);
ALTER TABLE editroom.idempotency_keys DROP COLUMN left_out;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
