"""Liveness and readiness, for process managers and load balancers."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from service.http.deps import DatabaseDep
from service.kernel.errors import DatabaseUnavailable
from service.kernel.migrations import head_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
async def readyz(database: DatabaseDep) -> JSONResponse | dict[str, str]:
    """PostgreSQL answers and its schema is at the revision this code expects."""
    expected = head_revision()
    try:
        row = await database.fetch_one("schema_revision")
    except DatabaseUnavailable as exc:
        return JSONResponse({"status": "unavailable", "database": str(exc)}, status_code=503)
    found = None if row is None else row["revision"]
    if found != expected:
        detail = f"schema is at {found}, expected {expected}: run `editroom db upgrade`"
        return JSONResponse({"status": "unavailable", "schema": detail}, status_code=503)
    return {"status": "ready", "schema": expected}
