"""take_idempotency_key answers what a batch left out beside its edits (edit_ids, left_out):
a replay read left_out in a statement of its own, a round trip more on every replay. Its result
type changes, which CREATE OR REPLACE cannot do: the old form is dropped here, and the function
files at head make the new one in the same transaction. (0022 gives the name its old result
back, for the release before still running: the new form is take_idempotency_key_with_left_out.)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
DROP FUNCTION IF EXISTS editroom.take_idempotency_key(text, text, interval);
"""

DOWNGRADE = """
-- The uuid[] form comes back with the function files of the revision gone to, whose CREATE OR
-- REPLACE cannot change this one's result type.
DROP FUNCTION IF EXISTS editroom.take_idempotency_key(text, text, interval);
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
