"""editroom fsck records the length it measures of a video whose row says 0 s
(editroom.record_measured_duration, db/functions/210_fsck.sql), made with the function files at
head. This revision changes no table; it is where going back drops the function, which the
function files of older revisions neither make nor replace.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.record_measured_duration(uuid, double precision);
"""


def upgrade() -> None:
    """Nothing to change: the function comes with db/functions/ at head."""


def downgrade() -> None:
    execute_sql(DOWNGRADE)
