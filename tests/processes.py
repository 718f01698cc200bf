"""Real editroom processes for tests: started with the test's database, always cleaned up."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STOP_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 60.0


def editroom_env(database_url: str | None, data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of an editroom process: this test's database and files, and settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITROOM_")}
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env["EDITROOM_DATA_DIR"] = str(data_dir)
    env.update({f"EDITROOM_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def editroom_process(
    *args: str, env: dict[str, str], log: Path
) -> Iterator["subprocess.Popen[bytes]"]:
    """`python -m service <args>` in its own session, its output in `log`."""
    with background_process([sys.executable, "-m", "service", *args], env=env, log=log) as process:
        yield process


@contextmanager
def background_process(
    argv: list[str], *, env: dict[str, str], log: Path
) -> Iterator["subprocess.Popen[bytes]"]:
    """Any program in its own session, its output in `log`; killed if still running."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(env: dict[str, str], log: Path, *, port: int | None = None) -> Iterator[str]:
    """`editroom serve` on `port` (by default a free one); yields its base URL once /healthz
    answers."""
    port = port or free_port()
    with editroom_process("serve", "--port", str(port), env=env, log=log):
        base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(f"{base_url}/healthz"):
            if time.monotonic() > deadline:
                raise AssertionError(f"editroom serve did not start:\n{log.read_text()}")
            time.sleep(0.05)
        yield base_url


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
