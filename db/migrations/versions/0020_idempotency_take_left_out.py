"""take_idempotency_key_with_left_out answers what a batch left out beside its edits
(edit_ids, left_out): a replay read left_out in a statement of its own, a round trip more on
every replay. take_idempotency_key keeps its result (the ids alone, uuid[]) for a process of the
release before still running after `db upgrade` (a row of two NULLs is never NULL: that code
would take every first request for a replay); it can be dropped a release later. Both come with
the function files at head (db/functions/107_idempotency_keys.sql).

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

# The revision gone to knows nothing of the new function: it would stay for good.
DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.take_idempotency_key_with_left_out(text, text, interval);
"""


def upgrade() -> None:
    """Nothing but the function files at head, which make the new function."""


def downgrade() -> None:
    execute_sql(DOWNGRADE)
