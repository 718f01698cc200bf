"""The monitoring as a user gets it: the real prometheus and prometheus-postgres-exporter, with
this repository's configuration, scraping a real API, runner and database doing real edits.
Every dashboard panel's query and every alert must find the series it is written against."""

import json
import math
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml

from tests import media
from tests.conftest import create_database, drop_database, require_tool
from tests.processes import background_process, editroom_env, editroom_process, free_port, serving
from tests.waiting import eventually

OBSERVABILITY = Path("observability").resolve()
DASHBOARD = OBSERVABILITY / "grafana/dashboards/editroom-queue.json"
SCRAPE_SECONDS = 1
EDITS = 6
TIMEOUT_SECONDS = 60.0


@dataclass
class Stack:
    prometheus: httpx.Client
    api: httpx.Client
    runner: Any  # the runner's process, which the last test stops
    completed: int  # edits that completed
    uploaded: int  # new media uploaded


def prometheus_config(tmp: Path, targets: dict[str, str]) -> Path:
    """observability/prometheus/prometheus.yml with this test's targets and a short interval."""
    config = yaml.safe_load((OBSERVABILITY / "prometheus/prometheus.yml").read_text())
    config["global"] = {
        "scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s",
    }  # fmt: skip
    config["rule_files"] = [
        str(OBSERVABILITY / "prometheus" / name) for name in config["rule_files"]
    ]
    for job in config["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [targets.pop(job["job_name"])]}]
    assert targets == {}, f"jobs missing from prometheus.yml: {targets}"
    path = tmp / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


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


def do_real_work(api: httpx.Client) -> tuple[int, int]:
    """Uploads and edits, as a user makes them; returns (edits completed, media uploaded)."""
    pictures = [media.image_bytes("PNG", size=(120 + i, 90)) for i in range(2)]
    ids = []
    for picture in pictures:
        response = api.post("/bucket/upload", params={"filename": "p.png"}, content=picture)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    assert api.post("/bucket/upload", content=pictures[0]).json()["duplicate"] is True
    completed = 0
    for i in range(EDITS):
        params = {"media": ids[i % 2], "resize": f"{40 + i}x", "format": "webp", "wait": "30"}
        completed += api.post("/edit", params=params).json()["status"] == "completed"
    assert completed == EDITS
    return completed, len(ids)


@pytest.fixture(scope="module")
def stack(
    postgres_server_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    name = f"editroom_stack_{secrets.token_hex(6)}"
    database_url = create_database(postgres_server_url, name, template=template_database)
    try:
        with ExitStack() as processes:
            yield start_stack(processes, database_url, tmp)
    finally:
        drop_database(postgres_server_url, name)


def start_stack(processes: ExitStack, database_url: str, tmp: Path) -> Stack:
    prometheus_bin = require_tool("prometheus")
    exporter_bin = require_tool("prometheus-postgres-exporter")
    env = editroom_env(database_url, tmp / "data", poll_interval_seconds="0.5")
    api_url = processes.enter_context(serving(env, tmp / "serve.log"))
    targets = {job: f"127.0.0.1:{free_port()}" for job in ("runner", "postgres")}
    runner = processes.enter_context(editroom_process(
        "runner", env={**env, "EDITROOM_RUNNER_METRICS_PORT": targets["runner"].split(":")[1]},
        log=tmp / "runner.log",
    ))  # fmt: skip
    processes.enter_context(background_process(
        [exporter_bin, f"--extend.query-path={OBSERVABILITY}/postgres_exporter/queries.yaml",
         f"--web.listen-address={targets['postgres']}"],
        env={"DATA_SOURCE_NAME": database_url}, log=tmp / "exporter.log",
    ))  # fmt: skip
    config = prometheus_config(tmp, {"api": api_url.removeprefix("http://"), **targets})
    prometheus_url = f"127.0.0.1:{free_port()}"
    processes.enter_context(background_process(
        [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address={prometheus_url}"],
        env={}, log=tmp / "prometheus.log",
    ))  # fmt: skip
    prometheus = processes.enter_context(httpx.Client(base_url=f"http://{prometheus_url}"))
    api = processes.enter_context(httpx.Client(base_url=api_url, timeout=TIMEOUT_SECONDS))
    every_target_up(prometheus, tmp)
    completed, uploaded = do_real_work(api)
    # Prometheus has scraped the work once the database's and the runner's counts show it.
    eventually(
        lambda: scalar(prometheus, 'sum(editroom_edits{status="completed"})') == completed
        and scalar(prometheus, "sum(editroom_edits_processed_total)") == completed,
        timeout=TIMEOUT_SECONDS, what="the edits in Prometheus",
    )  # fmt: skip
    time.sleep(3 * SCRAPE_SECONDS)  # a few more samples, so every rate has two
    return Stack(prometheus, api, runner, completed, uploaded)


def every_target_up(prometheus: httpx.Client, tmp: Path) -> None:
    def up() -> bool:
        return {s["metric"]["job"] for s in query(prometheus, "up == 1")} == {
            "api", "runner", "postgres",
        }  # fmt: skip

    try:
        eventually(up, timeout=TIMEOUT_SECONDS, what="every target to be scraped")
    except AssertionError:
        logs = {log.name: log.read_text()[-2000:] for log in tmp.glob("*.log")}
        raise AssertionError(json.dumps(logs, indent=1)) from None


def panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel["targets"]
    ]


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((OBSERVABILITY / "prometheus/alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


SELECTOR = re.compile(r"\b(editroom_\w+|up)\b(\{[^}]*\})?")


def test_every_panel_query_returns_a_number(stack: Stack) -> None:
    empty = [
        f"{title}: {expr}"
        for title, expr in panel_queries()
        if not finite(query(stack.prometheus, expr))
    ]
    assert empty == [], "panel queries without a finite series:\n" + "\n".join(empty)


def test_the_numbers_are_the_work_done(stack: Stack) -> None:
    prometheus = stack.prometheus
    assert scalar(prometheus, 'sum(editroom_edits{status="completed"})') == stack.completed
    assert scalar(prometheus, 'sum(editroom_edits{status=~"queued|processing"})') == 0
    assert scalar(prometheus, 'sum(editroom_edits_processed_total{outcome="completed"})') == (
        stack.completed
    )
    assert scalar(prometheus, 'sum(editroom_uploads_total{outcome="created"})') == stack.uploaded
    assert scalar(prometheus, 'sum(editroom_uploads_total{outcome="duplicate"})') == 1
    assert scalar(prometheus, "sum(editroom_edits_enqueued_total)") == stack.completed
    assert scalar(prometheus, 'editroom_runner_slots{state="busy"}') == 0
    assert (
        scalar(prometheus, 'count(editroom_attempt_duration_5m_seconds{outcome="completed"})') == 3
    )


def test_every_alert_is_evaluated_and_reads_series_that_exist(stack: Stack) -> None:
    groups = stack.prometheus.get("/api/v1/rules").json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == {rule["alert"] for rule in alert_rules()}
    eventually(
        lambda: all(
            r["health"] == "ok"
            for r in stack.prometheus.get("/api/v1/rules").json()["data"]["groups"][0]["rules"]
        ),
        what="every rule evaluated without error",
    )
    for rule in alert_rules():
        query(stack.prometheus, rule["expr"])  # a valid query (none should fire here)
        for name, labels in SELECTOR.findall(rule["expr"]):
            selector = name + labels
            assert query(stack.prometheus, selector), f"{rule['alert']}: {selector} has no series"


def test_no_runner_up_fires_once_the_runner_is_gone(stack: Stack) -> None:
    """Runs last: it stops the runner."""
    (rule,) = [r for r in alert_rules() if r["alert"] == "EditroomNoRunnerUp"]
    assert query(stack.prometheus, rule["expr"]) == []
    stack.runner.terminate()
    stack.runner.wait(TIMEOUT_SECONDS)
    eventually(
        lambda: query(stack.prometheus, rule["expr"]),
        timeout=TIMEOUT_SECONDS, what="the alert expression to fire",
    )  # fmt: skip
