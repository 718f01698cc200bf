"""Idempotent enqueue: a request retried with the same Idempotency-Key gets the edits the first
made, never new ones. The key is remembered with a fingerprint of the request for a window.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- Not a foreign key to edits (a workflow batch makes many; an array cannot reference): a key
-- outlives no edit for long, its window (a day by default) being shorter than retention.
CREATE TABLE editroom.idempotency_keys (
    key text PRIMARY KEY CHECK (key ~ '^[\\x20-\\x7e]{1,255}$'),
    fingerprint text NOT NULL CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    edit_ids uuid[],  -- NULL only inside the transaction that is making them
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
-- The housekeeping forgets expired keys, oldest first, a batch at a time.
CREATE INDEX idempotency_keys_expires_idx ON editroom.idempotency_keys (expires_at);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.take_idempotency_key(text, text, interval);
DROP FUNCTION IF EXISTS editroom.keep_idempotency_key(text, uuid[]);
DROP FUNCTION IF EXISTS editroom.forget_expired_idempotency_keys(integer);
DROP TABLE editroom.idempotency_keys;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
