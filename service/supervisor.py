"""`editroom run`: the whole thing on one machine. Starts the embedded PostgreSQL unless
DATABASE_URL is set, migrates, then runs the API and one runner as child processes until
Ctrl-C or SIGTERM. It says the API is up once the API listens, and stops in the order the
README promises: the runner first (it finishes or hands back what it holds), then the API,
then the database."""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from service.kernel import migrations
from service.kernel.addresses import check_can_listen, listening_on
from service.kernel.embedded import embedded_postgres, ensure_database
from service.kernel.settings import Settings

log = logging.getLogger(__name__)

CHILD_POLL_SECONDS = 0.2
CHILD_STOP_MARGIN_SECONDS = 10.0
API_STOP_SECONDS = 10.0  # the API holds no work, and ends its streams and waits at once
API_START_SECONDS = 120.0  # a first start compiles bytecode and warms the sandbox


class _StopRequested(Exception):
    pass


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    if settings.database_url:
        yield settings.database_url
        return
    with embedded_postgres(settings.data_dir) as server_url:
        log.info("embedded PostgreSQL started", extra={"data_dir": str(settings.data_dir)})
        yield ensure_database(server_url)
    log.info("embedded PostgreSQL stopped")


def run_everything(settings: Settings) -> int:
    check_can_listen(settings.host, settings.port)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    try:
        with database_url(settings) as url:
            migrations.upgrade(url)
            log.info("schema at head", extra={"revision": migrations.head_revision()})
            return _supervise(url, settings)
    except _StopRequested:
        return 0


def _raise_stop(_signum: int, _frame: FrameType | None) -> None:
    raise _StopRequested


def _supervise(url: str, settings: Settings) -> int:
    env = {**os.environ, "DATABASE_URL": url, "EDITROOM_PORT": str(settings.port)}
    # Own sessions: a terminal's Ctrl-C reaches only us, and we stop each child exactly once.
    api, runner = (
        subprocess.Popen(
            [sys.executable, "-m", "service", command], env=env, start_new_session=True
        )
        for command in ("serve", "runner")
    )
    try:
        if _wait_until_listening(settings, children=(api, runner)):
            listening = listening_on(settings.host, settings.port)
            log.info("editroom is up", extra={"url": settings.base_url, "listening": listening})
        while api.poll() is None and runner.poll() is None:
            time.sleep(CHILD_POLL_SECONDS)
        return (api.poll() if api.poll() is not None else runner.returncode) or 1
    except _StopRequested:
        log.info("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(runner, settings.shutdown_grace_seconds + CHILD_STOP_MARGIN_SECONDS)
        _stop(api, API_STOP_SECONDS)


def _wait_until_listening(
    settings: Settings, *, children: "tuple[subprocess.Popen[bytes], ...]"
) -> bool:
    """True once the API accepts connections; False if a child died first."""
    deadline = time.monotonic() + API_START_SECONDS
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        try:
            with socket.create_connection((settings.host, settings.port), timeout=1):
                return True
        except OSError:
            time.sleep(CHILD_POLL_SECONDS)
    log.warning("the API is not listening yet", extra={"port": settings.port})
    return False


def _stop(child: "subprocess.Popen[bytes]", timeout_seconds: float) -> None:
    if child.poll() is None:
        child.terminate()
    try:
        child.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        log.warning("child did not stop in time, killing it", extra={"pid": child.pid})
        child.kill()
        child.wait()
