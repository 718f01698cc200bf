"""Copies made by result addresses told apart: an edit marked `by_address` has only ever been
asked for by its GET address (GET /media/{id}/{operations}: a thumbnail, a display copy), a
cache as imgproxy's or thumbor's would be, not a person's work. Any other request that finds
it (POST /edit, a workflow run) clears the mark. Its results carry the mark too, so the
library's listing leaves them out without reading an edit per media (the edit may be archived).

Existing edits and media are not marked: which of them an address made was never recorded.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from service.kernel.migrations import execute_sql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UPGRADE = """
-- One transaction, so each table altered here stays locked (ACCESS EXCLUSIVE) until the
-- upgrade commits: from the first statement, a new edit waits (it looks for an identical one
-- in history), and from media's, a claim too (it reads media), for as long as the indexes take
-- to build, about a second per million archived edits. Edits, the queue's hot table, is
-- altered last; work already claimed goes on.
-- A constant default: no rewrite of any table, however many rows they hold.
ALTER TABLE editroom.edit_history ADD COLUMN by_address boolean NOT NULL DEFAULT false;
-- GET /edit?by_address=... (the queue's listing leaves copies out) merges these in keyset
-- order as it merges edits_listing_idx and edit_history_listing_idx without the filter.
CREATE INDEX edit_history_by_address_listing_idx
    ON editroom.edit_history (by_address, created_at DESC, id DESC);
ALTER TABLE editroom.media ADD COLUMN by_address boolean NOT NULL DEFAULT false;
-- The library without the copies (by_address=false): only media a person's edit, or an
-- upload, made are in it, so a page of them never walks past thousands of thumbnails.
CREATE INDEX media_named_listing_idx ON editroom.media (uploaded_at DESC, id DESC)
    WHERE status = 'ready' AND NOT by_address;
-- History keeps edits' columns in the same order (0009), and all_edits reads both.
ALTER TABLE editroom.edits ADD COLUMN by_address boolean NOT NULL DEFAULT false;
CREATE INDEX edits_by_address_listing_idx
    ON editroom.edits (by_address, created_at DESC, id DESC);
CREATE OR REPLACE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;

-- enqueue_edit_once, enqueue_edit_once_admitted and list_edits take p_by_address now
-- (db/functions/105, 180): the old signatures would stay beside the new ones as overloads.
DROP FUNCTION IF EXISTS editroom.enqueue_edit_once(uuid, jsonb, text, boolean, integer, integer);
DROP FUNCTION IF EXISTS editroom.enqueue_edit_once_admitted(
    bigint, uuid, jsonb, text, boolean, integer, integer);
DROP FUNCTION IF EXISTS editroom.list_edits(
    editroom.edit_status, uuid, uuid, uuid, timestamptz, uuid, integer);
"""

DOWNGRADE = """
DROP FUNCTION IF EXISTS editroom.unmark_by_address(uuid);
DROP FUNCTION IF EXISTS editroom.enqueue_edit_once(
    uuid, jsonb, text, boolean, integer, integer, boolean);
DROP FUNCTION IF EXISTS editroom.enqueue_edit_once_admitted(
    bigint, uuid, jsonb, text, boolean, integer, integer, boolean);
DROP FUNCTION IF EXISTS editroom.list_edits(
    editroom.edit_status, uuid, uuid, uuid, timestamptz, uuid, integer, boolean);
DROP INDEX editroom.edits_by_address_listing_idx, editroom.edit_history_by_address_listing_idx,
    editroom.media_named_listing_idx;
ALTER TABLE editroom.media DROP COLUMN by_address;
DROP VIEW editroom.workflow_status_counts, editroom.all_edits;
ALTER TABLE editroom.edit_history DROP COLUMN by_address;
ALTER TABLE editroom.edits DROP COLUMN by_address;
CREATE VIEW editroom.all_edits AS
    SELECT * FROM editroom.edits
    UNION ALL
    SELECT * FROM editroom.edit_history;
CREATE VIEW editroom.workflow_status_counts AS
SELECT w.id AS workflow_id, s.status::text AS status, count(e.id) AS count
  FROM editroom.workflows w
 CROSS JOIN unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
  LEFT JOIN editroom.all_edits e ON e.workflow_id = w.id AND e.status = s.status
 GROUP BY w.id, s.status;
"""


def upgrade() -> None:
    execute_sql(UPGRADE)


def downgrade() -> None:
    execute_sql(DOWNGRADE)
