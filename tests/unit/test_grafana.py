"""The Grafana provisioning and the "editroom queue" dashboard, as files. That every panel's
query finds its series is tested against a real Prometheus (tests/e2e/test_monitoring_stack.py)."""

import json
import re
from itertools import combinations
from pathlib import Path
from typing import Any

import yaml

GRAFANA = Path("observability/grafana")
DASHBOARD: dict[str, Any] = json.loads((GRAFANA / "dashboards/editroom-queue.json").read_text())
PANELS: dict[str, dict[str, Any]] = {panel["title"]: panel for panel in DASHBOARD["panels"]}


def provisioned_datasource() -> dict[str, Any]:
    path = GRAFANA / "provisioning/datasources/prometheus.yml"
    (datasource,) = yaml.safe_load(path.read_text())["datasources"]
    return dict(datasource)


def test_the_dashboard_is_the_editroom_queue() -> None:
    assert (DASHBOARD["title"], DASHBOARD["uid"]) == ("editroom queue", "editroom-queue")
    assert len(PANELS) == len(DASHBOARD["panels"]), "panel titles are unique"


def test_it_shows_what_the_issue_asks_for() -> None:
    depth = PANELS["Queue depth by status"]
    assert depth["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    assert "by (status)" in depth["targets"][0]["expr"]
    quantiles = PANELS["Processing time by kind (completed edits)"]["targets"]
    assert [t["legendFormat"].split()[0] for t in quantiles] == ["p50", "p95", "p99"]
    assert all("by (le, kind)" in t["expr"] for t in quantiles)
    for title, metric in [
        ("Throughput", "editroom_edits_processed_total"),
        ("Queue wait", "editroom_queue_wait_seconds_bucket"),
        ("Failure ratio", "editroom_edits_processed_total"),
        ("Runners", "editroom_runner_slots"),
        ("Uploads", "editroom_uploads_total"),
        ("Runner lanes", "editroom_runner_lane_slots"),
        ("Work done once", "editroom_identical_edits_total"),
        ("NOTIFY queue usage", "editroom_postgres_notification_queue_usage"),
        ("Oldest open transaction", "editroom_postgres_oldest_transaction_seconds"),
        ("Live event streams", "editroom_event_streams_dropped_total"),
    ]:
        assert any(metric in t["expr"] for t in PANELS[title]["targets"]), title


def test_every_query_uses_the_provisioned_prometheus_and_runs_as_written() -> None:
    uid = provisioned_datasource()["uid"]
    for panel in DASHBOARD["panels"]:
        assert panel["datasource"]["uid"] == uid
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            # No Grafana-only macros: the stack test sends each query to Prometheus as is.
            assert "$" not in target["expr"], target["expr"]


def test_panels_do_not_overlap() -> None:
    def cells(panel: dict[str, Any]) -> set[tuple[int, int]]:
        g = panel["gridPos"]
        return {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }

    for a, b in combinations(DASHBOARD["panels"], 2):
        assert not cells(a) & cells(b), (a["title"], b["title"])
        assert a["id"] != b["id"]


def test_grafana_finds_the_dashboard_where_compose_mounts_it() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/editroom.yml").read_text())
    (provider,) = providers["providers"]
    compose = yaml.safe_load(Path("compose.yaml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./observability/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def event_stream_routes() -> set[str]:
    """The API's routes that answer a Server-Sent Events stream, from its OpenAPI document."""
    from service.http.app import create_app
    from service.kernel.settings import Settings

    paths = create_app(Settings()).openapi()["paths"]
    return {
        path
        for path, operations in paths.items()
        for operation in operations.values()
        if "text/event-stream" in operation["responses"].get("200", {}).get("content", {})
    }


def test_http_latency_leaves_out_every_event_stream() -> None:
    """A stream lasts as long as the page that reads it (hours for the UI's /events): one left
    in puts a line at the top bucket (an hour) and flattens every route's milliseconds."""
    (target,) = PANELS["HTTP p95 by route"]["targets"]
    matcher = re.search(r'route(!=|!~)"((?:[^"\\]|\\.)*)"', target["expr"])
    assert matcher is not None, "the panel selects no routes out"
    operator, value = matcher.groups()
    value = value.replace("\\\\", "\\")  # a PromQL string's escapes; the rest is RE2
    left_out = (lambda route: re.fullmatch(value, route)) if operator == "!~" else value.__eq__
    streams = event_stream_routes()
    assert streams >= {"/events", "/edit/{edit_id}/events"}
    assert {route for route in streams if not left_out(route)} == set()
    assert not left_out("/edit/{edit_id}") and not left_out("/bucket/upload")
