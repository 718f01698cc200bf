"""A runner's Prometheus metrics, all in one place: claiming, waiting, processing, slots, and
lease losses. Each runner process serves its own on EDITROOM_RUNNER_METRICS_PORT (0: a free
port, logged), so runners on one host never clash (docs/decisions.md).

docs/metrics.md lists every metric with its labels; `kind` and `outcome` are the log keys.
"""

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from service.kernel.addresses import listening_on, url_to_open
from service.kernel.errors import ConfigurationError
from service.kernel.metrics import (
    DATABASE_SECONDS_BUCKETS,
    EDIT_KINDS,
    MEDIA_SECONDS_BUCKETS,
    new_registry,
)

log = logging.getLogger(__name__)

# The `kind` label, as editroom.edit_kind() (db/functions/600_metrics.sql) names it in the
# claim: the media's kind, "import" for an import from a URL (a job with no source media), or
# "unknown" when the edit's media was deleted before it ran.
UNKNOWN_KIND = "unknown"
KINDS = EDIT_KINDS  # every series starts with these; unknown when it happens

# How an attempt ended, as this runner saw it.
COMPLETED = "completed"  # its result is recorded
ERROR = "error"  # failed; it will be retried after its back-off
FAILED = "failed"  # failed for good (not retryable, or its last trial)
CANCELLED = "cancelled"  # someone cancelled it while it ran
LOST = "lost"  # the runner no longer held it (lease expired and reaped): a lease loss
ABANDONED = "abandoned"  # still running when the shutdown grace ran out
RELEASED = "released"  # handed back, no trial spent: the database or the store was down
OUTCOMES = (COMPLETED, ERROR, FAILED, CANCELLED, LOST, ABANDONED, RELEASED)


class RunnerMetrics:
    def __init__(self) -> None:
        self.registry = new_registry()
        self._claim_seconds = Histogram(
            "editroom_claim_duration_seconds",
            "Time of one editroom.claim_edits call (a batch of up to the free slots).",
            buckets=DATABASE_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._queue_wait = Histogram(
            "editroom_queue_wait_seconds",
            "From an edit's creation to its first claim (PostgreSQL's clock at both ends).",
            ["kind"],
            buckets=MEDIA_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._processing = Histogram(
            "editroom_processing_duration_seconds",
            "From claim to the end of the attempt, by media kind and outcome.",
            ["kind", "outcome"],
            buckets=MEDIA_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._processed = Counter(
            "editroom_edits_processed",
            "Attempts this runner finished, by media kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._lease_losses = Counter(
            "editroom_lease_losses",
            "Attempts given up because the runner no longer held the edit (outcome lost).",
            registry=self.registry,
        )
        self._slots = Gauge(
            "editroom_runner_slots",
            "This runner's edit slots (all its lanes), busy or idle.",
            ["state"],
            registry=self.registry,
        )
        self._lane_slots = Gauge(
            "editroom_runner_lane_slots",
            "This runner's slots of each lane (image, video, import), busy or idle.",
            ["kind", "state"],
            registry=self.registry,
        )
        # Every kind and outcome from the start: rates count the first edit too (a series born
        # with its first observation has no earlier sample to rise from), and are 0, not absent.
        for kind in KINDS:
            self._queue_wait.labels(kind)
            for outcome in OUTCOMES:
                self._processing.labels(kind, outcome)
                self._processed.labels(kind, outcome)

    def track_slots(self, *, busy: Callable[[], int], concurrency: int) -> None:
        """Slots are read when scraped, so claiming and finishing pay nothing for them."""
        self._slots.labels("busy").set_function(busy)
        self._slots.labels("idle").set_function(lambda: concurrency - busy())

    def track_lanes(self, *, slots: Mapping[str, int], busy: Mapping[str, int]) -> None:
        """Each lane's slots, read from `busy` (the runner's live count) when scraped."""

        def taken(kind: str) -> Callable[[], float]:
            return lambda: busy.get(kind, 0)

        def free(kind: str, total: int) -> Callable[[], float]:
            return lambda: total - busy.get(kind, 0)

        for kind, total in slots.items():
            self._lane_slots.labels(kind, "busy").set_function(taken(kind))
            self._lane_slots.labels(kind, "idle").set_function(free(kind, total))

    @contextmanager
    def claiming(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self._claim_seconds.observe(time.perf_counter() - started)

    def claimed(self, *, kind: str, trial: int, created_at: datetime, started_at: datetime) -> None:
        # Only first claims: a retry's wait would include its earlier attempts and back-off.
        if trial == 1:
            self._queue_wait.labels(kind).observe((started_at - created_at).total_seconds())

    def finished(self, *, kind: str, outcome: str, seconds: float) -> None:
        self._processing.labels(kind, outcome).observe(seconds)
        self._processed.labels(kind, outcome).inc()
        if outcome == LOST:
            self._lease_losses.inc()

    @contextmanager
    def serving(self, *, host: str, port: int) -> Iterator[str]:
        """/metrics on host:port (0: any free port) on a thread; yields its URL."""
        try:
            server, thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigurationError(
                f"cannot serve runner metrics on {host}:{port} ({exc.strerror}): set "
                "EDITROOM_RUNNER_METRICS_PORT to a free port, or to 0 to pick one"
            ) from exc
        url = f"{url_to_open(host, server.server_port)}/metrics"
        listening = listening_on(host, server.server_port)
        log.info("runner metrics served", extra={"url": url, "listening": listening})
        try:
            yield url
        finally:
            _stop(server, thread)


def _stop(server: WSGIServer, thread: Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join()
