"""Liveness and readiness, for process managers and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.http.deps import HealthDep

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
        return JSONResponse({"status": "unavailable", **readiness.problem}, status_code=503)
    return {"status": "ready", "schema": readiness.schema}
