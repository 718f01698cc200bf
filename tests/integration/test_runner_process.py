"""`editroom runner` as a real process: woken by NOTIFY, stopped by SIGTERM."""

import re
import signal
import socket
import urllib.request
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


def served_metrics_url(log: Path) -> str:
    """The URL a runner logged for its /metrics; empty until it has."""
    found = re.search(r'msg="runner metrics served" url=(\S+)', log.read_text())
    return found.group(1) if found else ""


def test_runners_on_one_host_each_serve_metrics_on_a_port_of_their_own(
    database_url: str, tmp_path: Path
) -> None:
    env = editroom_env(database_url, tmp_path)  # EDITROOM_RUNNER_METRICS_PORT unset: 0
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    with (
        editroom_process("runner", env=env, log=logs[0]),
        editroom_process("runner", env=env, log=logs[1]),
    ):
        urls = [
            eventually(lambda log=log: served_metrics_url(log), timeout=30, what="its URL")  # type: ignore[misc]
            for log in logs
        ]
        assert urls[0] != urls[1]
        for url in urls:
            with urllib.request.urlopen(url, timeout=5) as response:
                # The default lanes: two image slots, one video, two imports.
                assert b'editroom_runner_slots{state="idle"} 5.0' in response.read()


def test_a_metrics_port_in_use_stops_the_runner_with_the_setting_named(
    database_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = editroom_env(database_url, tmp_path, runner_metrics_port=port)
        log = tmp_path / "runner.log"
        with editroom_process("runner", env=env, log=log) as runner:
            assert runner.wait(timeout=30) == 2
    assert "set EDITROOM_RUNNER_METRICS_PORT to a free port, or to 0" in log.read_text()
