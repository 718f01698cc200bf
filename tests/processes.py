"""Real editroom processes for tests: started with the test's database, always cleaned up."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STOP_TIMEOUT_SECONDS = 30.0


def editroom_env(database_url: str | None, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITROOM_")}
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    env.update({f"EDITROOM_{name.upper()}": value for name, value in settings.items()})
    return env


@contextmanager
def editroom_process(
    *args: str, env: dict[str, str], log: Path
) -> Iterator["subprocess.Popen[bytes]"]:
    """`python -m service <args>` in its own session, its output in `log`."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)
