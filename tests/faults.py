"""Real damage for the fault suite (tests/e2e/test_faults.py): a PostgreSQL of the test's own
to stop and start, a TCP proxy in front of S3 to cut and restore, and the figures each fault
test leaves in tests/e2e/artifacts/reliability.json (docs/reliability.md quotes them)."""

import contextlib
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import REQUIRE_ALL
from tests.processes import free_port

ARTIFACT = Path(__file__).parent / "e2e" / "artifacts" / "reliability.json"
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")


def record(fault: str, figures: dict[str, Any]) -> None:
    """Keep this fault test's figures beside the others' (and print them with -s)."""
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    everything = json.loads(ARTIFACT.read_text()) if ARTIFACT.exists() else {}
    everything[fault] = figures
    ARTIFACT.write_text(json.dumps(everything, indent=2, sort_keys=True) + "\n")
    print(f"reliability {fault}: {json.dumps(figures, sort_keys=True)}")


class OwnPostgres:
    """A PostgreSQL server of one test's own, on a free TCP port, that it may stop and start.
    initdb and pg_ctl refuse to run as root: as root they run as the postgres user."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        argv = [*as_postgres, str(POSTGRES_BIN / program), *args]
        subprocess.run(argv, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data_dir / "pg"), "-A", "trust", "-U", "postgres",
                  "--no-sync")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.data_dir / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data_dir / "pg"), "-o", options, "-l", log, "-w",
                  "start")  # fmt: skip

    def stop(self) -> None:
        """A fast shutdown: sessions are cut, as in a restart or a fail-over."""
        self._run("pg_ctl", "-D", str(self.data_dir / "pg"), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


@contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    if not (POSTGRES_BIN / "initdb").exists():
        message = f"PostgreSQL server programs are not in {POSTGRES_BIN} (postgresql-15)"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    data_dir = Path(tempfile.mkdtemp(prefix="editroom-fault-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data_dir, "postgres", "postgres")
    server = OwnPostgres(data_dir)
    server.init()
    server.start()
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


class CuttableProxy:
    """A TCP port in front of a server. cut(): the port refuses connections and every open
    one is dropped, as when the server dies; restore(): the same port serves again."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self._target = ("127.0.0.1", target_port)
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self._target)
            except OSError:
                return
            with self._lock:
                self._sockets.update((client, upstream))
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, client: socket.socket, upstream: socket.socket) -> None:
        other = {client: upstream, upstream: client}
        try:
            while True:
                readable, _, _ = select.select(list(other), [], [], 1.0)
                for side in readable:
                    data = side.recv(65536)
                    if not data:
                        return
                    other[side].sendall(data)
        except (OSError, ValueError):
            return  # cut
        finally:
            with self._lock:
                for sock in (client, upstream):
                    self._sockets.discard(sock)
                    sock.close()


@contextmanager
def cuttable_proxy(target_port: int) -> Iterator[CuttableProxy]:
    proxy = CuttableProxy(target_port)
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.cut()
