"""`make run` from the user's side: it comes up on the embedded database, does a no-op edit,
and Ctrl-C takes everything down, the database included."""

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from tests.processes import STOP_TIMEOUT_SECONDS, editroom_env, free_port
from tests.queue import Conn, edit, enqueue, insert_media
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90.0


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_run(data_dir: Path, tmp_path: Path) -> Iterator[tuple["subprocess.Popen[bytes]", int]]:
    port = free_port()
    env = editroom_env(None, data_dir, port=str(port))
    with (tmp_path / "make-run.log").open("wb") as log:
        process = subprocess.Popen(
            ["make", "-s", "run"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def embedded_conn(data_dir: Path) -> Conn:
    url = psycopg.conninfo.make_conninfo(
        host=str(data_dir / "pgdata"), dbname="editroom", user="postgres"
    )
    return psycopg.connect(url, autocommit=True, row_factory=dict_row)


def test_make_run_serves_edits_and_ctrl_c_stops_everything(
    make_run: tuple["subprocess.Popen[bytes]", int], data_dir: Path, tmp_path: Path
) -> None:
    process, port = make_run
    base_url = f"http://127.0.0.1:{port}"
    eventually(lambda: ready(base_url), timeout=START_TIMEOUT_SECONDS, what="/readyz")
    # What a person waits for: the line saying it is up, once it listens.
    said_up = 'msg="editroom is up"'
    eventually(lambda: said_up in (tmp_path / "make-run.log").read_text(), what="it says it is up")
    assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}

    with embedded_conn(data_dir) as conn:
        edit_id = enqueue(conn, insert_media(conn), [{"op": "noop"}])["id"]
        eventually(lambda: edit(conn, edit_id)["status"] == "completed", what="the runner")

    postmaster_pid = data_dir / "pgdata" / "postmaster.pid"
    assert postmaster_pid.exists()
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
    process.wait(STOP_TIMEOUT_SECONDS)

    log = (tmp_path / "make-run.log").read_text()
    assert not port_open(port), log
    assert not postmaster_pid.exists(), "the embedded PostgreSQL is still running\n" + log
    assert 'msg="embedded PostgreSQL stopped"' in log
    assert 'msg="runner stopped"' in log
    # Up only once it listens; down in the README's order: runner, API, database.
    assert log.index('msg="API serving"') < log.index('msg="editroom is up"'), log
    assert log.index('msg="runner stopped"') < log.index("Finished server process"), log
    assert log.index("Finished server process") < log.index("embedded PostgreSQL stopped"), log
    assert "alembic.runtime.plugins" not in log
