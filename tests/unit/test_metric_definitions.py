"""The shape of the API's and the runners' metrics, as Prometheus sees it: histogram buckets
that fit what they time, and kind-labelled series that exist before the first event."""

import re
from collections import defaultdict
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from runner.process.execute import edit_time_limit_seconds
from runner.process.metrics import RunnerMetrics
from service.kernel.metrics import ServiceMetrics
from service.kernel.settings import Settings
from tests.metrics import Scrape

# Media work: a thumbnail takes milliseconds, the longest video edit allowed about 20 hours.
MEDIA_WORK = {
    "editroom_http_request_duration_seconds",
    "editroom_processing_duration_seconds",
    "editroom_queue_wait_seconds",
}
# One call to PostgreSQL: under a millisecond when idle, seconds when in trouble.
DATABASE_CALLS = {"editroom_claim_duration_seconds", "editroom_enqueue_duration_seconds"}


def bucket_bounds(registry: CollectorRegistry) -> dict[str, list[float]]:
    """Each histogram's finite bucket upper bounds, in seconds, ascending."""
    bounds: dict[str, set[float]] = defaultdict(set)
    for family in registry.collect():
        for sample in family.samples if family.type == "histogram" else []:
            if sample.name.endswith("_bucket") and sample.labels["le"] != "+Inf":
                bounds[family.name].add(float(sample.labels["le"]))
    return {name: sorted(found) for name, found in bounds.items()}


def all_bucket_bounds() -> dict[str, list[float]]:
    service = ServiceMetrics()
    # A labelled histogram shows its buckets once a series exists: one request makes one.
    service.request(method="GET", route="/healthz", status=200, seconds=0.001)
    return bucket_bounds(service.registry) | bucket_bounds(RunnerMetrics().registry)


BOUNDS = all_bucket_bounds()


def test_every_histogram_times_media_work_or_one_database_call() -> None:
    assert set(BOUNDS) == MEDIA_WORK | DATABASE_CALLS


@pytest.mark.parametrize("name", sorted(MEDIA_WORK))
def test_media_work_buckets_span_milliseconds_to_tens_of_minutes(name: str) -> None:
    assert BOUNDS[name][0] <= 0.01
    assert BOUNDS[name][-1] >= 1200


def longest_allowed_work_seconds(settings: Settings) -> float:
    """The longest attempt the limits let a runner make: an edit reading a video of the longest
    duration allowed, or an import."""
    longest_video = {"kind": "video", "duration_seconds": settings.max_video_seconds}
    return max(edit_time_limit_seconds(settings, [longest_video]), settings.import_timeout_seconds)


@pytest.mark.parametrize("name", sorted(MEDIA_WORK))
def test_the_top_bucket_holds_the_longest_work_the_default_limits_allow(name: str) -> None:
    """The buckets stopped at an hour: every video edit longer (its limit is 20 h by default)
    fell in +Inf, and a quantile over them read an hour."""
    assert BOUNDS[name][-1] >= longest_allowed_work_seconds(Settings())


@pytest.mark.parametrize("name", sorted(DATABASE_CALLS))
def test_database_call_buckets_span_a_millisecond_to_seconds(name: str) -> None:
    assert BOUNDS[name][0] <= 0.001
    assert BOUNDS[name][-1] >= 5


@pytest.mark.parametrize(
    "name", ["editroom_edits_processed_total", "editroom_processing_duration_seconds_count",
             "editroom_queue_wait_seconds_count"],
)  # fmt: skip
def test_runner_series_exist_at_zero_for_every_kind_of_work(name: str) -> None:
    scrape = Scrape.of(RunnerMetrics().registry)
    assert scrape.label_values(name, "kind") == {"image", "video", "import"}
    assert {sample.value for sample in scrape.samples if sample.name == name} == {0}


def documented_metrics(section: str) -> dict[str, tuple[str, frozenset[str]]]:
    """docs/metrics.md's table under `## {section}`: each metric's type and label names."""
    text = Path("docs/metrics.md").read_text().split(f"\n## {section}\n", 1)[1].split("\n## ")[0]
    rows = re.findall(r"^\| `(editroom_\w+)` \| (\w+) \|([^|]*)\|", text, re.MULTILINE)
    return {name: (kind, frozenset(re.findall(r"`(\w+)`", labels))) for name, kind, labels in rows}


def exported_metrics(registry: CollectorRegistry) -> dict[str, tuple[str, frozenset[str]]]:
    """The registry's editroom_ families as the table names them (a counter with `_total`),
    with the label names of their series (every labelled one has a series by then)."""
    found = {}
    for family in registry.collect():
        if family.name.startswith("editroom_"):
            name = f"{family.name}_total" if family.type == "counter" else family.name
            labels = {label for sample in family.samples for label in sample.labels} - {"le"}
            found[name] = (family.type, frozenset(labels))
    return found


def test_docs_metrics_tables_list_every_metric_with_its_type_and_labels() -> None:
    """Users build dashboards and alerts from docs/metrics.md: a metric renamed, added or
    relabelled in the code without it would make their queries silently empty."""
    service = ServiceMetrics()
    service.request(method="GET", route="/healthz", status=200, seconds=0.001)
    assert exported_metrics(service.registry) == documented_metrics("The API")
    runner = RunnerMetrics()  # its slot gauges have series once a runner says what it has
    runner.track_slots(busy=lambda: 0, concurrency=1)
    runner.track_lanes(slots={"image": 1}, busy={"image": 0})
    assert exported_metrics(runner.registry) == documented_metrics("Each runner")
