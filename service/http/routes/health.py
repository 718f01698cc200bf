"""Liveness and readiness, for process managers and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.http.deps import HealthDep
from service.http.errors import RETRY_AFTER_SECONDS, retry_after

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(health: HealthDep) -> JSONResponse | dict[str, str]:
    """PostgreSQL answers and its schema is at the revision this code expects."""
    readiness = await health.readiness()
    if readiness.problem is not None:
        body = {"status": "unavailable", **readiness.problem}
        return JSONResponse(body, status_code=503, headers=retry_after(RETRY_AFTER_SECONDS))
    return {"status": "ready", "schema": readiness.schema}
