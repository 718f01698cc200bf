"""The test suite's own PostgreSQL keeps its files in memory where it can (tests/conftest.py):
what a killed session leaves there is removed by the next, never a live or starting one's."""

import os
import time
from pathlib import Path

from tests.conftest import STALE_AFTER_SECONDS, TEST_SERVER_PREFIX, _remove_stale_servers


def _data_dir(parent: Path, name: str, *, pid: int | None, age_seconds: float) -> Path:
    data_dir = parent / f"{TEST_SERVER_PREFIX}{name}"
    (data_dir / "pgdata").mkdir(parents=True)
    if pid is not None:
        (data_dir / "pgdata" / "postmaster.pid").write_text(f"{pid}\n/some/dir\n")
    then = time.time() - age_seconds
    os.utime(data_dir, (then, then))
    return data_dir


def test_only_old_directories_without_a_running_server_are_removed(tmp_path: Path) -> None:
    old = STALE_AFTER_SECONDS + 60
    dead = _data_dir(tmp_path, "killed", pid=2**22 + 12345, age_seconds=old)  # past pid_max
    unstarted = _data_dir(tmp_path, "never-started", pid=None, age_seconds=old)
    running = _data_dir(tmp_path, "running", pid=os.getpid(), age_seconds=old)
    starting = _data_dir(tmp_path, "starting", pid=None, age_seconds=5)
    other = tmp_path / "someone-elses"
    other.mkdir()
    _remove_stale_servers(tmp_path)
    assert not dead.exists() and not unstarted.exists()
    assert running.exists() and starting.exists() and other.exists()
