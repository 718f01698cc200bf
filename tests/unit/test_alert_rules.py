"""The alert rules, run by promtool on made-up series: each fires when it should and not
before (observability/prometheus/alerts.test.yml)."""

import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import require_tool

PROMETHEUS_DIR = Path("observability/prometheus")


def load(name: str) -> Any:
    return yaml.safe_load((PROMETHEUS_DIR / name).read_text())


def alert_names() -> set[str]:
    return {rule["alert"] for group in load("alerts.yml")["groups"] for rule in group["rules"]}


def test_every_alert_has_a_test_in_which_it_fires() -> None:
    fired = {
        case["alertname"]
        for test in load("alerts.test.yml")["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert alert_names() == fired
    assert alert_names() == {
        "EditroomQueueGrowing", "EditroomOldestQueuedTooOld",
        "EditroomFailureRatioHigh", "EditroomNoRunnerUp",
        "EditroomNotificationQueueFilling", "EditroomLongTransaction",
        # The watchers watched: without them a stopped exporter or API silences the rest.
        "EditroomQueueUnobserved", "EditroomApiDown",
    }  # fmt: skip


def test_promtool_rule_tests_pass() -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "test", "rules", "alerts.test.yml"],
        cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compose_configuration_is_valid() -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
