"""NOTIFY of the library's changes (db/functions/220_media_events.sql): a media ready or deleted
is told to a watcher of editroom_media_events, once per statement, and to no one when no one
watches; a pending upload is no one's to see."""

import hashlib
import json
import secrets
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest

from tests.queue import Conn, insert_media

CHANNEL = "editroom_media_events"
QUIET_SECONDS = 0.3


@pytest.fixture
def listener(database_url: str) -> Iterator["psycopg.Connection[Any]"]:
    """A watcher of the channel, as the service is while an event stream is open (a DBA's
    psql watches as the README says)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"LISTEN {CHANNEL}")
        conn.execute("SELECT editroom.watch_events()")
        yield conn


def notifications(listener: "psycopg.Connection[Any]") -> list[list[dict[str, str]]]:
    """Each notification's events, until the channel has been quiet for a moment."""
    return [json.loads(n.payload) for n in listener.notifies(timeout=QUIET_SECONDS)]


def told(media_id: UUID, change: str) -> dict[str, str]:
    return {"id": str(media_id), "change": change}


def test_an_upload_and_its_deletion_are_told(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    conn.execute("SELECT * FROM editroom.delete_media(%s)", [media])
    assert notifications(listener) == [[told(media, "ready")], [told(media, "deleted")]]


def test_a_statement_of_many_media_sends_one_notification(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    digests = [hashlib.sha256(secrets.token_bytes(16)).hexdigest() for _ in range(3)]
    rows = conn.execute(
        """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key)
           SELECT 'image', 'image/png', 1, d, 'test/' || d FROM unnest(%s::text[]) AS d
           RETURNING id""",
        [digests],
    ).fetchall()
    conn.execute("DELETE FROM editroom.media WHERE id = ANY(%s)", [[r["id"] for r in rows]])
    assert notifications(listener) == [
        [told(row["id"], "ready") for row in rows],
        [told(row["id"], "deleted") for row in rows],
    ]


def test_a_presigned_upload_is_told_once_completed(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    pending = conn.execute(
        "SELECT id FROM editroom.create_pending_media('later.png', 1, '1 hour')"
    ).fetchone()
    assert pending is not None and notifications(listener) == []
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    conn.execute(
        """SELECT * FROM editroom.complete_pending_media(
               p_id => %s, p_kind => 'image', p_content_type => 'image/png', p_size_bytes => 1,
               p_sha256 => %s, p_storage_key => %s)""",
        [pending["id"], digest, f"test/{digest}"],
    )
    assert notifications(listener) == [[told(pending["id"], "ready")]]


def test_nothing_is_told_while_no_one_watches(conn: Conn, database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as bystander:
        bystander.execute(f"LISTEN {CHANNEL}")  # listening is not watching
        media = insert_media(conn)
        conn.execute("SELECT * FROM editroom.delete_media(%s)", [media])
        assert notifications(bystander) == []
