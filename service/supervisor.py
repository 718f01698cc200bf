"""`editroom run`: the whole thing on one machine. Starts the embedded PostgreSQL unless
DATABASE_URL is set, migrates, then runs the API and one runner as child processes until
Ctrl-C or SIGTERM, and stops everything it started, the database last."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from service.kernel import migrations
from service.kernel.embedded import embedded_postgres, ensure_database
from service.kernel.settings import Settings

log = logging.getLogger(__name__)

CHILD_POLL_SECONDS = 0.2
CHILD_STOP_MARGIN_SECONDS = 10.0


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
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "service", command], env=env, start_new_session=True
        )
        for command in ("serve", "runner")
    ]
    log.info("editroom is up", extra={"url": f"http://{settings.host}:{settings.port}"})
    try:
        while all(child.poll() is None for child in children):
            time.sleep(CHILD_POLL_SECONDS)
        return next(child.returncode for child in children if child.returncode is not None) or 1
    except _StopRequested:
        log.info("stopping")
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop_children(children, settings.shutdown_grace_seconds + CHILD_STOP_MARGIN_SECONDS)


def _stop_children(children: list["subprocess.Popen[bytes]"], timeout_seconds: float) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + timeout_seconds
    for child in children:
        try:
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("child did not stop in time, killing it", extra={"pid": child.pid})
            child.kill()
            child.wait()
