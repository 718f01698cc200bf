"""editroom fsck --remeasure-videos replaces a video's recorded length with the one it measures
(editroom.record_measured_duration(p_id, p_duration_seconds, p_replacing), db/functions/
210_fsck.sql), made with the function files at head. The two-argument function (a row at 0 s
only) stays for a fsck of the release before still running after `db upgrade`. This revision
changes no table; it is where going back drops the new function, which the function files of
older revisions neither make nor replace.

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

DOWNGRADE = """
DROP FUNCTION IF EXISTS
    editroom.record_measured_duration(uuid, double precision, double precision);
"""


def upgrade() -> None:
    """Nothing to change: the function comes with db/functions/ at head."""


def downgrade() -> None:
    execute_sql(DOWNGRADE)
