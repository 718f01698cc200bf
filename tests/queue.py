"""Small helpers over the SQL API, for tests that talk to PostgreSQL directly."""

import hashlib
import secrets
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

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
