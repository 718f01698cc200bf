"""The README's psql session runs as written, with psql, against a migrated database."""

import re
import subprocess
from pathlib import Path

from service.kernel.embedded import client_binary
from tests.queue import Conn, attempts, edit, enqueue, insert_media

README = Path("README.md")


def readme_psql_session() -> str:
    section = README.read_text().split("### A psql session a DBA could paste", 1)[1]
    match = re.search(r"```sql\n(.*?)```", section, re.DOTALL)
    assert match is not None
    return match.group(1)


def test_the_dba_session_in_the_readme_runs(database_url: str, conn: Conn) -> None:
    insert_media(conn)  # what an upload would have made
    result = subprocess.run(
        [str(client_binary("psql")), "-X", "-v", "ON_ERROR_STOP=1", database_url],
        input=readme_psql_session(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "tried by hand" in result.stdout
    row = conn.execute(
        "SELECT e.status::text, a.outcome::text, a.error FROM editroom.edits e "
        "JOIN editroom.edit_attempts a ON a.edit_id = e.id"
    ).fetchone()
    assert row == {"status": "cancelled", "outcome": "failed", "error": "tried by hand"}


def test_the_dba_session_works_its_own_edit_whatever_else_is_queued(
    database_url: str, conn: Conn
) -> None:
    older = enqueue(conn, insert_media(conn), priority=10)  # what claim_edits would take first
    insert_media(conn)  # the newest upload, the one the session edits
    result = subprocess.run(
        [str(client_binary("psql")), "-X", "-v", "ON_ERROR_STOP=1", database_url],
        input=readme_psql_session(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert edit(conn, older["id"])["status"] == "queued"  # someone else's edit, untouched
    assert attempts(conn, older["id"]) == []
