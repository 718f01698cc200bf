"""With EDITROOM_HOST=0.0.0.0 (every interface) the start-up log gives a URL a person can
open, and says the API listens on all interfaces; it printed http://0.0.0.0:PORT twice
(uvicorn's "running on" and editroom's "is up"), an address no browser opens."""

import re
import signal
from pathlib import Path

import httpx2 as httpx

from tests.processes import STOP_TIMEOUT_SECONDS, editroom_env, editroom_process, free_port
from tests.waiting import eventually

START_TIMEOUT_SECONDS = 90.0


def test_listening_on_all_interfaces_logs_a_url_that_opens(
    database_url: str, tmp_path: Path
) -> None:
    port, log = free_port(), tmp_path / "run.log"
    env = editroom_env(database_url, tmp_path / "data", host="0.0.0.0", runner_metrics_port="0")
    with editroom_process("run", "--port", str(port), env=env, log=log) as process:
        eventually(
            lambda: "editroom is up" in log.read_text() or process.poll() is not None,
            timeout=START_TIMEOUT_SECONDS, what="editroom run to say it is up",
        )  # fmt: skip
        said = log.read_text()
        urls = set(re.findall(r"http://[^\s\"]+", said))
        for url in {url for url in urls if not url.endswith("/metrics")}:  # the API's
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200, url
        process.send_signal(signal.SIGINT)
        process.wait(STOP_TIMEOUT_SECONDS)
    assert "0.0.0.0:" not in "".join(urls), said
    up = [line for line in said.splitlines() if "editroom is up" in line or "API serving" in line]
    assert len(up) == 2, said
    for line in up:
        assert f"url=http://localhost:{port}" in line
        assert f'listening="0.0.0.0:{port} (all interfaces)"' in line
