"""GET /metrics: the API's Prometheus metrics (docs/metrics.md)."""

from fastapi import APIRouter
from fastapi.responses import Response

from service.http.deps import MetricsDep
from service.kernel.metrics import exposition

router = APIRouter(tags=["health"])


@router.get("/metrics", response_class=Response)
async def metrics(service_metrics: MetricsDep) -> Response:
    """Prometheus's text format: HTTP requests, uploads, enqueueing, and the process."""
    body, content_type = exposition(service_metrics.registry)
    return Response(body, media_type=content_type)
