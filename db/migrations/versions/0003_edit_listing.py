"""Listing edits newest first, by status or not.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
CREATE INDEX edits_listing_idx ON editroom.edits (created_at DESC, id DESC);
CREATE INDEX edits_status_listing_idx ON editroom.edits (status, created_at DESC, id DESC);
"""

DOWNGRADE = """
DROP INDEX editroom.edits_listing_idx, editroom.edits_status_listing_idx;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
