"""A command whose PostgreSQL does not answer says so in one line naming the database (host,
port, name; never the password) and what to do, and exits non-zero. `editroom serve` printed
uvicorn's traceback of the failed start-up and exited 3; the runner and `editroom cleanup`
said only "pool initialization incomplete after 10.0 sec"."""

import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from service.kernel import db
from tests.processes import editroom_env, free_port

PASSWORD = "hunter2-secret"
# EDITROOM_DB_POOL_OPEN_TIMEOUT_SECONDS here: each command gives up after 1 s of refusals, not
# the default 10 s (its pool retries at least every 0.5 s until it gives up).
OPEN_TIMEOUT_SECONDS = 1
DEFAULT_OPEN_TIMEOUT_SECONDS = 10


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A DATABASE_URL whose port refuses connections: bound by us, never listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        port = held.getsockname()[1]
        yield f"postgresql://editor:{PASSWORD}@127.0.0.1:{port}/media_db"


@pytest.mark.parametrize("command", ["serve", "runner", "cleanup", "fsck"])
def test_a_database_that_does_not_answer_is_one_line_naming_it(
    refused_url: str, tmp_path: Path, command: str
) -> None:
    arguments = [command, "--port", str(free_port())] if command == "serve" else [command]
    env = editroom_env(
        refused_url,
        tmp_path / "data",
        runner_metrics_port="0",
        db_pool_open_timeout_seconds=str(OPEN_TIMEOUT_SECONDS),
    )
    result = subprocess.run(
        [sys.executable, "-m", "service", *arguments],
        env=env, capture_output=True, text=True, check=False, timeout=90,
    )  # fmt: skip
    port = refused_url.rsplit(":", 1)[1].split("/")[0]
    said = [line for line in result.stderr.splitlines() if "level=" not in line]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    assert len(said) == 1, result.stderr
    assert said[0].startswith(f"editroom: cannot use PostgreSQL at 127.0.0.1:{port}/media_db: ")
    assert "Connection refused" in said[0] and "DATABASE_URL" in said[0]
    tried = seconds_of_retries(result.stderr)
    assert tried < DEFAULT_OPEN_TIMEOUT_SECONDS / 2, f"the pool tried for {tried:.1f} s"


def seconds_of_retries(stderr: str) -> float:
    """From the pool's first failed connection to its last, by their log lines' timestamps
    (the command's start-up, slow on a busy machine, is not counted)."""
    stamps = [
        datetime.fromisoformat(line.split()[0].removeprefix("ts=").removesuffix("Z"))
        for line in stderr.splitlines()
        if line.startswith("ts=") and "error connecting" in line
    ]
    assert stamps, stderr
    return (stamps[-1] - stamps[0]).total_seconds()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        (f"postgresql://editor:{PASSWORD}@db.example:6432/media_db", "db.example:6432/media_db"),
        (
            f"host=/run/postgresql dbname=media_db password={PASSWORD}",
            "/run/postgresql:5432/media_db",
        ),
        ("postgresql://db.example", "db.example:5432"),
    ],
)
def test_the_database_is_named_by_host_port_and_name_never_password(url: str, said: str) -> None:
    assert db.where(url) == said
    assert PASSWORD not in str(db.unusable(url, OSError("refused")))
