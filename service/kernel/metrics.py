"""The API's Prometheus metrics, all in one place: HTTP requests by route template, uploads,
enqueueing (and the identical edits reused or joined instead), and the live event streams.
Built by the app factory (one registry per app), served at /metrics.

docs/metrics.md lists every metric with its labels. Label names are the log keys (`kind`,
`outcome`), so a log line and a series say the same thing the same way.
"""

import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Media work spans milliseconds (a thumbnail) to hours, in seconds. The top bucket covers the
# longest attempt the default limits allow: a video of EDITROOM_MAX_VIDEO_SECONDS (2 h) may run
# EDITROOM_EDIT_TIMEOUT_SECONDS plus EDITROOM_EDIT_SECONDS_PER_VIDEO_SECOND for each of its
# seconds, 300 + 10 x 7200 s, about 20 h (tests/unit/test_metric_definitions.py checks it).
MEDIA_SECONDS_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
)  # fmt: skip
# One round trip to PostgreSQL: well under a millisecond when idle, seconds when in trouble.
DATABASE_SECONDS_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
MEDIA_KINDS = ("image", "video")
IMPORT_KIND = "import"  # an import from a URL: a job with no source media
EDIT_KINDS = (*MEDIA_KINDS, IMPORT_KIND)
UNKNOWN_KIND = "unknown"  # an edit whose kind is not known (docs/metrics.md, the kind label)
UPLOAD_OUTCOMES = ("created", "duplicate")
IDENTICAL_OUTCOMES = ("reused", "joined")  # an identical edit completed, or still to run
STREAM_DROPS = ("stalled", "behind")  # took nothing for a while; 10,000 changes behind
UNMATCHED_ROUTE = "unmatched"  # 404s: one series, whatever paths clients try


def new_registry() -> CollectorRegistry:
    """A registry of our own (never the global one) with the process's CPU, memory and
    file descriptors."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in Prometheus's text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = new_registry()
        labels = ["method", "route", "status"]
        self._requests = Counter(
            "editroom_http_requests", "HTTP requests answered.", labels, registry=self.registry
        )
        self._request_seconds = Histogram(
            "editroom_http_request_duration_seconds",
            "Time from a request's arrival to the end of its response body.",
            labels,
            buckets=MEDIA_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._uploads = Counter(
            "editroom_uploads",
            "Uploads that became media (direct or presigned); outcome created or duplicate.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._upload_bytes = Counter(
            "editroom_upload_bytes", "Bytes of those uploads.", ["kind"], registry=self.registry
        )
        self._enqueue_seconds = Histogram(
            "editroom_enqueue_duration_seconds",
            "Time of the editroom.enqueue_edit call that queues a validated edit.",
            buckets=DATABASE_SECONDS_BUCKETS,
            registry=self.registry,
        )
        self._enqueued = Counter(
            "editroom_edits_enqueued", "Edits queued.", ["kind"], registry=self.registry
        )
        self._identical = Counter(
            "editroom_identical_edits",
            "Edits asked for and answered by an identical edit instead of a new one: reused "
            "(completed: its results are served) or joined (still to run).",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._streams = Gauge(
            "editroom_event_streams", "Server-Sent Events streams open.", registry=self.registry
        )
        self._streams_dropped = Counter(
            "editroom_event_streams_dropped",
            "Event streams the service ended because their client fell behind: stalled (took "
            "nothing for EDITROOM_SSE_STALL_SECONDS) or behind (10,000 changes unread).",
            ["reason"],
            registry=self.registry,
        )
        self._streams_refused = Counter(
            "editroom_event_streams_refused",
            "Event streams refused with a 503 because EDITROOM_MAX_EVENT_STREAMS were open.",
            registry=self.registry,
        )
        # Every kind and outcome from the start: rates count the first upload too, and are 0
        # rather than absent before it.
        for kind in EDIT_KINDS:
            self._enqueued.labels(kind)
            for outcome in IDENTICAL_OUTCOMES:
                self._identical.labels(kind, outcome)
        for reason in STREAM_DROPS:
            self._streams_dropped.labels(reason)
        for kind in MEDIA_KINDS:
            self._upload_bytes.labels(kind)
            for outcome in UPLOAD_OUTCOMES:
                self._uploads.labels(kind, outcome)

    def request(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._request_seconds.labels(method, route, str(status)).observe(seconds)

    def uploaded(self, media: Mapping[str, Any], *, duplicate: bool) -> None:
        """An upload became this media row (new, or the same bytes as a known one)."""
        kind = media["kind"]
        self._uploads.labels(kind, "duplicate" if duplicate else "created").inc()
        self._upload_bytes.labels(kind).inc(media["size_bytes"])

    @contextmanager
    def enqueueing(self) -> Iterator[None]:
        """Times a call that queues a validated edit (editroom.enqueue_edit and its kin)."""
        started = time.perf_counter()
        yield
        self._enqueue_seconds.observe(time.perf_counter() - started)

    def answered(self, edits: Iterable[Mapping[str, Any]], *, kind: str | None = None) -> None:
        """The edits a request was answered with, as the queue returned them: each new one is
        counted as queued; each identical one (`reused`) as reused if it has completed, else
        as joined. `kind`: what they read, when known before their rows say it (a session's
        step queued behind a step still to run has no kind until that one completes)."""
        for edit in edits:
            read = kind or edit["kind"] or UNKNOWN_KIND  # finished before edits had a kind
            if not edit.get("reused"):
                self._enqueued.labels(read).inc()
            else:
                outcome = "reused" if edit["status"] == "completed" else "joined"
                self._identical.labels(read, outcome).inc()

    def enqueued(self, kind: str) -> None:
        """A job queued with no source media: an import."""
        self._enqueued.labels(kind).inc()

    @contextmanager
    def streaming(self) -> Iterator[None]:
        """An event stream, open while inside."""
        self._streams.inc()
        try:
            yield
        finally:
            self._streams.dec()

    def stream_dropped(self, reason: str) -> None:
        """An event stream ended because its client fell behind (STREAM_DROPS)."""
        self._streams_dropped.labels(reason).inc()

    def stream_refused(self) -> None:
        """An event stream was refused: EDITROOM_MAX_EVENT_STREAMS were open."""
        self._streams_refused.inc()


def route_template(scope: Scope) -> str:
    """`/edit/{edit_id}`, not `/edit/5b0e…`: the route the router matched, or 'unmatched'."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class HttpMetricsMiddleware:
    """Counts and times every HTTP request, by method, route template and status. Plain ASGI,
    so streamed responses (content, Server-Sent Events) are timed to their last byte."""

    def __init__(self, app: ASGIApp, *, metrics: ServiceMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            self._metrics.request(
                method=scope["method"],
                route=route_template(scope),
                status=status,
                seconds=time.perf_counter() - started,
            )
