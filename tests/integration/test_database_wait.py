"""`editroom db upgrade` waits, within a bound, for a PostgreSQL that is still starting: the
compose stack's one-shot migration must not fail because the database opened a moment late."""

import os
import select
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from service.kernel import migrations
from service.kernel.errors import DatabaseUnavailable
from tests.web import SHUTDOWN_POLL_SECONDS


def upstream_socket(database_url: str) -> socket.socket:
    """A connection to the server of database_url, over its Unix socket or TCP."""
    parts = conninfo_to_dict(database_url)
    host, port = str(parts.get("host") or "localhost"), int(parts.get("port") or 5432)
    if host.startswith("/"):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.connect(f"{host}/.s.PGSQL.{port}")
        return unix
    return socket.create_connection((host, port))


class Forwarder(socketserver.ThreadingTCPServer):
    """A TCP port in front of the test server that refuses connections until opened."""

    daemon_threads = True

    def __init__(self, database_url: str) -> None:
        super().__init__(("127.0.0.1", 0), Forwarding, bind_and_activate=False)
        self.database_url = database_url
        self.opened = False
        self.server_bind()  # bound but not listening: a connection is refused, as at start-up

    def url(self) -> str:
        return make_conninfo(self.database_url, host="127.0.0.1", port=self.server_address[1])

    def open(self) -> None:
        self.server_activate()
        # shutdown() waits for the loop to look again: by default, up to half a second.
        polled = {"poll_interval": SHUTDOWN_POLL_SECONDS}
        threading.Thread(target=self.serve_forever, kwargs=polled, daemon=True).start()
        self.opened = True


class Forwarding(socketserver.BaseRequestHandler):
    server: Forwarder

    def handle(self) -> None:
        with upstream_socket(self.server.database_url) as upstream:
            other = {self.request: upstream, upstream: self.request}
            while True:
                readable, _, _ = select.select(list(other), [], [])
                for side in readable:
                    data = side.recv(65536)
                    if not data:
                        return
                    other[side].sendall(data)


@contextmanager
def forwarder(database_url: str) -> Iterator[Forwarder]:
    server = Forwarder(database_url)
    try:
        yield server
    finally:
        if server.opened:
            server.shutdown()
        server.server_close()


def _read_until(stream: IO[str], text: str) -> str:
    """The lines a process printed up to and including the first that holds `text`."""
    lines = []
    for line in stream:
        lines.append(line)
        if text in line:
            return "".join(lines)
    raise AssertionError(f"the process ended without saying {text!r}:\n{''.join(lines)}")


def test_upgrade_waits_for_the_database_to_open(empty_database_url: str) -> None:
    with forwarder(empty_database_url) as server:
        upgrade = subprocess.Popen(
            [sys.executable, "-m", "service", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": server.url()},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert upgrade.stdout is not None
        said = _read_until(upgrade.stdout, "waiting for PostgreSQL")  # waits, does not fail
        assert upgrade.poll() is None, said + upgrade.communicate()[0]
        server.open()
        output = said + upgrade.communicate(timeout=60)[0]
    assert upgrade.returncode == 0, output
    assert migrations.current_revision(empty_database_url) == migrations.head_revision()
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM editroom.status_counts()").fetchone() == (6,)


def test_the_wait_is_bounded_and_says_what_to_do(empty_database_url: str) -> None:
    with forwarder(empty_database_url) as server:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match=r"within 1.5 s.*--wait SECONDS") as raised:
            migrations.wait_for_database(server.url(), timeout_seconds=1.5)
        waited = time.monotonic() - started
    assert 1.5 <= waited < 10
    assert "127.0.0.1" in str(raised.value)


def test_a_database_that_is_up_is_not_waited_for(empty_database_url: str) -> None:
    started = time.monotonic()
    migrations.wait_for_database(empty_database_url, timeout_seconds=30)
    assert time.monotonic() - started < 1


def test_wrong_credentials_are_reported_at_once_not_waited_out(empty_database_url: str) -> None:
    wrong = make_conninfo(empty_database_url, dbname="no_such_database")
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "service", "db", "upgrade", "--wait", "30"],
        env={**os.environ, "DATABASE_URL": wrong}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert time.monotonic() - started < 15
    assert result.returncode != 0
    assert "no_such_database" in result.stderr


def test_the_cli_gives_up_with_a_clear_message(empty_database_url: str) -> None:
    with forwarder(empty_database_url) as server:
        result = subprocess.run(
            [sys.executable, "-m", "service", "db", "upgrade", "--wait", "1"],
            env={**os.environ, "DATABASE_URL": server.url()}, capture_output=True, text=True,
            check=False, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert "did not accept connections within 1 s" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command", [["upgrade", "--wait", "0"], ["current"], ["schema"], ["downgrade", "base"]]
)
def test_each_db_command_reports_a_database_it_cannot_use_in_one_line(
    empty_database_url: str, command: list[str]
) -> None:
    """A wrong database name or password (a .env changed after the volume was made) was a
    psycopg or SQLAlchemy traceback and exit status 1, the status of a failed migration."""
    wrong = make_conninfo(empty_database_url, dbname="no_such_database")
    result = subprocess.run(
        [sys.executable, "-m", "service", "db", *command],
        env={**os.environ, "DATABASE_URL": wrong}, capture_output=True, text=True, check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if "level=" not in line]
    assert line.startswith("editroom: ") and "no_such_database" in line
