"""Small helpers over the SQL API, for tests that talk to PostgreSQL directly."""

import hashlib
import secrets
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from runner.engine.probe import probe
from tests import media

Conn = psycopg.Connection[dict[str, Any]]


def insert_media(conn: Conn) -> UUID:
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    row = conn.execute(
        """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key)
           VALUES ('image', 'image/png', 1, %s, %s) RETURNING id""",
        [digest, f"test/{digest}"],
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def insert_sound_alone(conn: Conn, folder: Path) -> UUID:
    """A video media without a picture, recorded as the runner records an audio=extract
    result (its own probe of an m4a file), its bytes left unstored: what an edit of it is
    refused for never reads them."""
    path = media.write_audio_only(folder / "sound.m4a", container="ipod", codec="aac")
    facts = probe(path, max_pixels=10**6, max_video_seconds=60, sound_alone=True)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    row = conn.execute(
        """SELECT (a.media).id FROM editroom.add_media(
               p_kind => %(kind)s, p_content_type => %(content_type)s,
               p_size_bytes => %(size_bytes)s, p_sha256 => %(sha256)s,
               p_storage_key => %(storage_key)s,
               p_original_name => 'sound.m4a', p_width => %(width)s, p_height => %(height)s,
               p_duration_seconds => %(duration_seconds)s, p_frame_rate => %(frame_rate)s,
               p_video_codec => %(video_codec)s, p_audio_codec => %(audio_codec)s) AS a""",
        {**facts.as_dict(), "kind": facts.kind.value, "sha256": digest,
         "storage_key": f"test/{digest}", "size_bytes": path.stat().st_size},
    ).fetchone()  # fmt: skip
    assert row is not None
    return UUID(str(row["id"]))


def enqueue(
    conn: Conn, media_id: UUID | None, ops: list[Any] | None = None, **options: Any
) -> dict[str, Any]:
    arguments = [sql.Placeholder("media"), sql.Placeholder("ops")] + [
        sql.SQL("{} => {}").format(sql.Identifier(f"p_{name}"), sql.Placeholder(name))
        for name in options
    ]
    query = sql.SQL("SELECT * FROM editroom.enqueue_edit({})").format(sql.SQL(", ").join(arguments))
    row = conn.execute(query, {"media": media_id, "ops": Jsonb(ops or []), **options}).fetchone()
    assert row is not None
    return row


def claim(
    conn: Conn, worker: str, limit: int = 1, lease: str = "5 minutes"
) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT * FROM editroom.claim_edits(%s, %s, %s::interval)", [worker, limit, lease]
    ).fetchall()


def edit(conn: Conn, edit_id: UUID) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM editroom.edits WHERE id = %s", [edit_id]).fetchone()
    assert row is not None
    return row


def attempts(conn: Conn, edit_id: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT * FROM editroom.edit_attempts WHERE edit_id = %s ORDER BY trial", [edit_id]
    ).fetchall()


def status_counts(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT status, count FROM editroom.status_counts()").fetchall()
    return {row["status"]: row["count"] for row in rows}


def disable_backoff(conn: Conn) -> None:
    """Retry at once, in this session and every later one on this database."""
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET editroom.backoff_base_seconds = 0").format(
            sql.Identifier(conn.info.dbname)
        )
    )
    conn.execute("SET editroom.backoff_base_seconds = 0")


def fail_by_hand(
    conn: Conn, edit_id: UUID | str, *, error: str = "storage timed out", retryable: bool = True,
    last_trial: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Edit `edit_id` (the one claimable edit) claimed and failed as a runner would: not
    `retryable` (failed at once, trials left), or retryable on its last trial (`last_trial`)."""
    trials_left = 0 if last_trial else 2
    conn.execute(
        "UPDATE editroom.edits SET max_trials = trial + 1 + %s WHERE id = %s",
        [trials_left, edit_id],
    )
    (claimed,) = claim(conn, "by-hand")
    assert str(claimed["id"]) == str(edit_id)
    row = conn.execute(
        "SELECT * FROM editroom.fail_edit(%s, 'by-hand', %s, %s)", [edit_id, error, retryable]
    ).fetchone()
    assert row is not None and row["status"] == "failed"
    return row


def complete_by_hand(conn: Conn, edit_id: UUID | str) -> dict[str, Any]:
    """Edit `edit_id` (the one claimable edit) claimed and completed, making nothing (its
    session's next step reads what it read)."""
    (claimed,) = claim(conn, "by-hand")
    assert str(claimed["id"]) == str(edit_id)
    row = conn.execute(
        "SELECT * FROM editroom.complete_edit(%s, 'by-hand', '{}')", [edit_id]
    ).fetchone()
    assert row is not None and row["status"] == "completed"
    return row


def buffers(conn: Conn, statement: str) -> int:
    """Shared buffers (hit or read) a statement touched, its functions' statements included."""
    row = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}").fetchone()
    assert row is not None
    plan = row["QUERY PLAN"][0]
    return int(plan["Plan"]["Shared Hit Blocks"]) + int(plan["Plan"]["Shared Read Blocks"])
