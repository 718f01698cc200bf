"""The monitoring stack for tests and for the README's picture: the real prometheus and
prometheus-postgres-exporter, configured from observability/, scraping a real `editroom serve`
and real `editroom runner` processes on one database."""

import json
import math
import subprocess
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import yaml

from tests.conftest import require_tool
from tests.processes import background_process, editroom_env, editroom_process, free_port, serving
from tests.waiting import eventually

OBSERVABILITY = Path("observability").resolve()
DASHBOARD = OBSERVABILITY / "grafana/dashboards/editroom-queue.json"
TIMEOUT_SECONDS = 60.0
JOBS = ("api", "runner", "postgres")


@dataclass
class MonitoredStack:
    prometheus: httpx.Client
    api: httpx.Client
    runners: list["subprocess.Popen[bytes]"]


def prometheus_config(tmp: Path, targets: dict[str, list[str]], *, interval_seconds: int) -> Path:
    """observability/prometheus/prometheus.yml with these targets and a short interval."""
    config = yaml.safe_load((OBSERVABILITY / "prometheus/prometheus.yml").read_text())
    config["global"] = {
        "scrape_interval": f"{interval_seconds}s", "evaluation_interval": f"{interval_seconds}s",
    }  # fmt: skip
    config["rule_files"] = [
        str(OBSERVABILITY / "prometheus" / name) for name in config["rule_files"]
    ]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": targets.pop(job["job_name"])}]
    assert targets == {}, f"jobs missing from prometheus.yml: {targets}"
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def exporter_queries(tmp: Path, *, interval_seconds: int) -> Path:
    """observability/postgres_exporter/queries.yaml with every cache as short as the scrape
    interval: a total cached for a minute before the work would hide the work for a minute."""
    queries = yaml.safe_load((OBSERVABILITY / "postgres_exporter/queries.yaml").read_text())
    for config in queries.values():
        if "cache_seconds" in config:
            config["cache_seconds"] = interval_seconds
    path = tmp / "queries.yaml"
    path.write_text(yaml.safe_dump(queries))
    return path


def start_stack(
    processes: ExitStack,
    database_url: str,
    tmp: Path,
    *,
    runners: int = 1,
    interval_seconds: int = 1,
    **settings: str,
) -> MonitoredStack:
    """Everything, started in `processes`; returns once Prometheus scrapes every target."""
    prometheus_bin = require_tool("prometheus")
    exporter_bin = require_tool("prometheus-postgres-exporter")
    env = editroom_env(database_url, tmp / "data", **settings)
    # Every process but the API is started first, and the API last: Prometheus takes its
    # targets up seconds after it starts (its discovery sends them every 5 s), the runners
    # seconds too, and meanwhile `serving` waits for the API.
    api_port, runner_ports = free_port(), [free_port() for _ in range(runners)]
    started = [
        processes.enter_context(
            editroom_process("runner", env={**env, "EDITROOM_RUNNER_METRICS_PORT": str(port)},
                             log=tmp / f"runner-{port}.log")
        )
        for port in runner_ports
    ]  # fmt: skip
    exporter = f"127.0.0.1:{free_port()}"
    processes.enter_context(background_process(
        [exporter_bin,
         f"--extend.query-path={exporter_queries(tmp, interval_seconds=interval_seconds)}",
         f"--web.listen-address={exporter}"],
        env={"DATA_SOURCE_NAME": database_url}, log=tmp / "exporter.log",
    ))  # fmt: skip
    targets = {
        "api": [f"127.0.0.1:{api_port}"],
        "runner": [f"127.0.0.1:{port}" for port in runner_ports],
        "postgres": [exporter],
    }
    config = prometheus_config(tmp, targets, interval_seconds=interval_seconds)
    prometheus_address = f"127.0.0.1:{free_port()}"
    processes.enter_context(background_process(
        [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address={prometheus_address}"],
        env={}, log=tmp / "prometheus.log",
    ))  # fmt: skip
    api_url = processes.enter_context(serving(env, tmp / "serve.log", port=api_port))
    prometheus = processes.enter_context(httpx.Client(base_url=f"http://{prometheus_address}"))
    api = processes.enter_context(httpx.Client(base_url=api_url, timeout=TIMEOUT_SECONDS))
    _every_target_up(prometheus, tmp, expected=1 + runners + 1)
    return MonitoredStack(prometheus, api, started)


def _every_target_up(prometheus: httpx.Client, tmp: Path, *, expected: int) -> None:
    def up() -> bool:
        try:
            if prometheus.get("/-/ready").status_code != 200:
                return False  # listening, but its storage is still starting: 503
            result = query(prometheus, "up == 1")
        except httpx.TransportError:  # Prometheus is not listening yet
            return False
        return {s["metric"]["job"] for s in result} == set(JOBS) and len(result) == expected

    try:
        eventually(up, timeout=TIMEOUT_SECONDS, what="every target to be scraped")
    except AssertionError:
        logs = {log.name: log.read_text()[-2000:] for log in tmp.glob("*.log")}
        raise AssertionError(json.dumps(logs, indent=1)) from None


def query(prometheus: httpx.Client, expr: str) -> list[dict[str, Any]]:
    response = prometheus.get("/api/v1/query", params={"query": expr})
    body = response.json()
    assert body["status"] == "success", f"{expr}: {body}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def finite(result: list[dict[str, Any]]) -> list[float]:
    return [v for v in (float(series["value"][1]) for series in result) if math.isfinite(v)]


def scalar(prometheus: httpx.Client, expr: str) -> float:
    values = finite(query(prometheus, expr))
    return values[0] if len(values) == 1 else math.nan


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panel_queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for panel in dashboard()["panels"]
        for target in panel["targets"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((OBSERVABILITY / "prometheus/alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]
