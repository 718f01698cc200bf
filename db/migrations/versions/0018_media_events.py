"""The library's changes told to event streams: statement triggers on media
(db/functions/220_media_events.sql), created with the function files at head, as every trigger
is. This revision changes no table; it is where going back drops them: the function files of
older revisions neither make nor replace them, and they read a column revisions before 0013
lack (by_address), where a media written would fail.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DOWNGRADE = """
DROP TRIGGER IF EXISTS media_event_on_insert ON editroom.media;
DROP TRIGGER IF EXISTS media_event_on_update ON editroom.media;
DROP TRIGGER IF EXISTS media_event_on_delete ON editroom.media;
DROP FUNCTION IF EXISTS editroom.media_notify_event();
"""


def upgrade() -> None:
    """Nothing to change: the triggers come with db/functions/ at head."""


def downgrade() -> None:
    execute_sql(DOWNGRADE)
