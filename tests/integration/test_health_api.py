"""/healthz and /readyz against a real database."""

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from service.http.app import create_app
from service.kernel.migrations import head_revision
from service.kernel.settings import Settings

# A request waits this long for a connection before its 503 (EDITROOM_DB_POOL_TIMEOUT_SECONDS,
# 2 s by default): a database gone is told sooner.
POOL_TIMEOUT_SECONDS = 0.3


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, db_pool_timeout_seconds=POOL_TIMEOUT_SECONDS)
    with TestClient(create_app(settings), base_url=settings.base_url) as test_client:
        yield test_client


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_the_schema_revision(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema": head_revision()}


def test_readyz_refuses_an_unmigrated_database(empty_database_url: str) -> None:
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA editroom")
        conn.execute("CREATE TABLE editroom.alembic_version (version_num text)")
    settings = Settings(database_url=empty_database_url)
    with TestClient(create_app(settings), base_url=settings.base_url) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "run `editroom db upgrade`" in response.json()["schema"]


def test_readyz_reports_a_database_that_went_away(
    client: TestClient, database_url: str, postgres_server_url: str
) -> None:
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(str(name))))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert client.get("/healthz").status_code == 200


def test_the_first_request_finds_every_route_built(database_url: str) -> None:
    """FastAPI builds a route's handler on its first request; the service builds them all
    (with the OpenAPI document) before it answers, so the first upload does not pay it."""
    settings = Settings(database_url=database_url)
    app = create_app(settings)
    assert app.openapi_schema is None
    with TestClient(app, base_url=settings.base_url):
        assert app.openapi_schema is not None
