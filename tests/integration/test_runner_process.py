"""`editroom runner` as a real process: woken by NOTIFY, stopped by SIGTERM."""

import signal
from pathlib import Path
from uuid import UUID

from tests.processes import editroom_env, editroom_process
from tests.queue import Conn, edit, enqueue, insert_media
from tests.waiting import eventually

SLOW_POLL_SECONDS = "60"


def listening(conn: Conn) -> bool:
    row = conn.execute(
        """SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN "editroom_queue"%'"""
    ).fetchone()
    return bool(row and row["n"])


def test_an_idle_runner_is_woken_by_notify(conn: Conn, database_url: str, tmp_path: Path) -> None:
    media: UUID = insert_media(conn)
    env = editroom_env(database_url, tmp_path, poll_interval_seconds=SLOW_POLL_SECONDS)
    with editroom_process("runner", env=env, log=tmp_path / "runner.log"):
        eventually(lambda: listening(conn), what="the runner to LISTEN")
        edit_id = enqueue(conn, media)["id"]
        # A poll would come after 60 s; only the NOTIFY can make this quick.
        eventually(
            lambda: edit(conn, edit_id)["status"] == "completed", timeout=15, what="completion"
        )


def test_sigterm_stops_the_runner_cleanly(conn: Conn, database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "runner.log"
    with editroom_process("runner", env=editroom_env(database_url, tmp_path), log=log) as runner:
        eventually(lambda: listening(conn), what="the runner to LISTEN")
        runner.send_signal(signal.SIGTERM)
        assert runner.wait(timeout=15) == 0
    text = log.read_text()
    assert 'msg="runner started"' in text and 'msg="runner stopped"' in text
