"""take_idempotency_key answers as it did before 0020 again, the ids alone (uuid[]), for a
process of the release before still running after `db upgrade`: 0020 gave it a result of
(edit_ids, left_out), a row never NULL, which that code took for a replay of every first
request, and failed. The new form is take_idempotency_key_with_left_out, which this release
calls; both come with the function files at head (db/functions/107_idempotency_keys.sql).

The old form can be dropped a release after this one, when no process calls it.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# At 0020 or 0021 the name has 0020's result, which CREATE OR REPLACE cannot change back.
UPGRADE = """
DROP FUNCTION IF EXISTS editroom.take_idempotency_key(text, text, interval);
"""

# The older release's `db upgrade` makes its own take_idempotency_key, with 0020's result, and
# knows nothing of the new name (it would stay for good).
DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.take_idempotency_key(text, text, interval);
DROP FUNCTION IF EXISTS editroom.take_idempotency_key_with_left_out(text, text, interval);
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
