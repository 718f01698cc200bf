"""The monitoring as a user gets it: the real prometheus and prometheus-postgres-exporter, with
this repository's configuration, scraping a real API, runner and database doing real edits.
Every dashboard panel's query and every alert must find the series it is written against."""

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import httpx2 as httpx
import pytest

from tests import media
from tests.conftest import create_database, drop_database
from tests.monitoring import (
    MonitoredStack,
    alert_rules,
    finite,
    panel_queries,
    query,
    scalar,
    start_stack,
)
from tests.waiting import eventually

SCRAPE_SECONDS = 1
EDITS = 6
TIMEOUT_SECONDS = 60.0


@dataclass
class Work:
    completed: int  # edits that completed
    uploaded: int  # new media uploaded
    stored: dict[str, int]  # bytes of each image stored: the uploads and the edits' outputs


@dataclass
class Stack(MonitoredStack):
    work: Work


def do_real_work(api: httpx.Client) -> Work:
    """Uploads and edits, as a user makes them."""
    pictures = [media.image_bytes("PNG", size=(120 + i, 90)) for i in range(2)]
    stored = {}
    for picture in pictures:
        response = api.post("/bucket/upload", params={"filename": "p.png"}, content=picture)
        assert response.status_code == 201, response.text
        stored[response.json()["id"]] = len(picture)
    ids = list(stored)
    assert api.post("/bucket/upload", content=pictures[0]).json()["duplicate"] is True
    completed = 0
    for i in range(EDITS):
        params = {"media": ids[i % 2], "resize": f"{40 + i}x", "format": "webp", "wait": "30"}
        edit = api.post("/edit", params=params).json()
        completed += edit["status"] == "completed"
        for output in edit["outputs"]:
            stored[output["id"]] = len(api.get(output["content_url"]).content)
    assert completed == EDITS
    return Work(completed, len(ids), stored)


@pytest.fixture(scope="module")
def stack(
    postgres_server_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    name = f"editroom_stack_{secrets.token_hex(6)}"
    database_url = create_database(postgres_server_url, name, template=template_database)
    try:
        with ExitStack() as processes:
            started = start_stack(
                processes, database_url, tmp, interval_seconds=SCRAPE_SECONDS,
                poll_interval_seconds="0.5",
            )  # fmt: skip
            prometheus = started.prometheus
            work = do_real_work(started.api)
            done_at = time.time()  # Prometheus's clock: this machine's
            completed = work.completed
            # Prometheus has scraped the work once the database's and the runner's counts show it.
            eventually(
                lambda: scalar(prometheus, 'sum(editroom_edits{status="completed"})') == completed
                and scalar(prometheus, "sum(editroom_edits_processed_total)") == completed,
                timeout=TIMEOUT_SECONDS, what="the edits in Prometheus",
            )  # fmt: skip
            # Every rate has two samples of the work: each target's last scrape is over an
            # interval after the work ended, so the one before it was after the work too.
            eventually(
                lambda: scalar(prometheus, "min(timestamp(up))") > done_at + SCRAPE_SECONDS,
                timeout=TIMEOUT_SECONDS, what="two scrapes of every target since the work",
            )  # fmt: skip
            yield Stack(prometheus, started.api, started.runners, work)
    finally:
        drop_database(postgres_server_url, name)


SELECTOR = re.compile(r"\b(editroom_\w+|up)\b(\{[^}]*\})?")


def test_every_panel_query_returns_a_number(stack: Stack) -> None:
    empty = [
        f"{title}: {expr}"
        for title, expr in panel_queries()
        if not finite(query(stack.prometheus, expr))
    ]
    assert empty == [], "panel queries without a finite series:\n" + "\n".join(empty)


def media_totals(prometheus: httpx.Client) -> dict[tuple[str, str], float]:
    result = query(prometheus, '{__name__=~"editroom_media_(count|bytes)"}')
    return {(s["metric"]["__name__"], s["metric"]["kind"]): float(s["value"][1]) for s in result}


def test_the_numbers_are_the_work_done(stack: Stack) -> None:
    prometheus, work = stack.prometheus, stack.work
    assert scalar(prometheus, 'sum(editroom_edits{status="completed"})') == work.completed
    assert scalar(prometheus, 'sum(editroom_edits{status=~"queued|processing"})') == 0
    assert scalar(prometheus, 'sum(editroom_edits_processed_total{outcome="completed"})') == (
        work.completed
    )
    assert scalar(prometheus, 'sum(editroom_uploads_total{outcome="created"})') == work.uploaded
    assert scalar(prometheus, 'sum(editroom_uploads_total{outcome="duplicate"})') == 1
    assert scalar(prometheus, "sum(editroom_edits_enqueued_total)") == work.completed
    assert scalar(prometheus, 'editroom_runner_slots{state="busy"}') == 0
    assert (
        scalar(prometheus, 'count(editroom_attempt_duration_5m_seconds{outcome="completed"})') == 3
    )
    # Stored media, from the media table through the real exporter: every upload and every
    # edit's output, no video. The exporter caches these (for one scrape interval here).
    expected = {
        ("editroom_media_count", "image"): len(work.stored),
        ("editroom_media_bytes", "image"): sum(work.stored.values()),
        ("editroom_media_count", "video"): 0,
        ("editroom_media_bytes", "video"): 0,
    }
    eventually(
        lambda: media_totals(prometheus) == expected,
        timeout=TIMEOUT_SECONDS,
        what=f"media totals {expected}, not {media_totals(prometheus)}",
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
    (runner,) = stack.runners
    runner.terminate()
    runner.wait(TIMEOUT_SECONDS)
    eventually(
        lambda: query(stack.prometheus, rule["expr"]),
        timeout=TIMEOUT_SECONDS, what="the alert expression to fire",
    )  # fmt: skip
