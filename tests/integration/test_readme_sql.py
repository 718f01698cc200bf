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


def paste_readme_psql_session(database_url: str) -> "subprocess.CompletedProcess[str]":
    """The session run by psql as a DBA pastes it, stopping at its first error."""
    result = subprocess.run(
        [str(client_binary("psql")), "-X", "-v", "ON_ERROR_STOP=1", database_url],
        input=readme_psql_session(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_the_dba_session_in_the_readme_runs(database_url: str, conn: Conn) -> None:
    insert_media(conn)  # what an upload would have made
    result = paste_readme_psql_session(database_url)
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
    paste_readme_psql_session(database_url)
    assert edit(conn, older["id"])["status"] == "queued"  # someone else's edit, untouched
    assert attempts(conn, older["id"]) == []


def test_the_dba_session_edits_the_newest_upload_not_an_edits_output(
    database_url: str, conn: Conn
) -> None:
    """With `make run` up, the newest media is often an edit's result: the session says it
    works the newest upload, the photo just sent with curl."""
    upload = insert_media(conn)
    output = insert_media(conn)
    conn.execute("UPDATE editroom.media SET origin = 'edit' WHERE id = %s", [output])
    paste_readme_psql_session(database_url)
    row = conn.execute("SELECT media_id FROM editroom.edits").fetchone()
    assert row == {"media_id": upload}


def test_the_dba_session_holds_its_edit_before_a_runner_can_claim_it(
    database_url: str, conn: Conn
) -> None:
    """The session is pasted while `make run` is up, whose runner claims whatever becomes
    claimable the moment it is committed. A rival that claims every new edit as its insert
    commits stands for it: the session still works its own edit by hand."""
    conn.execute(RIVAL_RUNNER)
    insert_media(conn)
    paste_readme_psql_session(database_url)
    row = conn.execute(
        "SELECT a.worker, a.outcome::text, a.error FROM editroom.edit_attempts a"
    ).fetchone()
    assert row == {"worker": "dba-console", "outcome": "failed", "error": "tried by hand"}


# A runner as quick as can be: it claims each new edit when the insert commits (a deferred
# trigger runs at COMMIT), before the session's next statement could.
RIVAL_RUNNER = """
CREATE FUNCTION public.rival_claims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM editroom.claim_edit(NEW.id, 'rival-runner', '1 minute');
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER rival_runner AFTER INSERT ON editroom.edits
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.rival_claims();
"""
