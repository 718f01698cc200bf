"""The FastAPI application factory. Nothing here runs at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from runner.sandbox import Sandbox
from service.db import Database
from service.edits import Edits
from service.events import EditEvents
from service.http import install_error_handlers
from service.imports import Imports
from service.library import MediaLibrary
from service.metrics import HttpMetricsMiddleware, ServiceMetrics
from service.routes import (
    content,
    edits,
    health,
    imports,
    media,
    metrics,
    presign,
    sessions,
    workflows,
)
from service.sessions import Sessions
from service.settings import Settings
from service.signing import secret_key
from service.storage.factory import open_storage
from service.workflows import Workflows


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    service_metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.require_database_url()
        async with Database.connect(url, max_size=settings.db_pool_size) as database:
            app.state.database = database
            app.state.library = MediaLibrary(
                database=database,
                storage=await open_storage(settings),
                sandbox=Sandbox(memory_limit_bytes=settings.edit_memory_bytes),
                settings=settings,
            )
            app.state.signing_key = secret_key(settings)
            events = EditEvents(database)
            app.state.edits = Edits(
                database=database, events=events, settings=settings, metrics=service_metrics
            )
            app.state.sessions = Sessions(database)
            app.state.imports = Imports(
                database=database, settings=settings, metrics=service_metrics
            )
            app.state.workflows = Workflows(
                database=database, edits=app.state.edits, settings=settings,
                metrics=service_metrics,
            )  # fmt: skip
            await events.start()
            try:
                yield
            finally:
                await events.stop()

    app = FastAPI(
        title="editroom",
        summary="A media editor driven over HTTP, with PostgreSQL as its queue.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = service_metrics
    app.add_middleware(HttpMetricsMiddleware, metrics=service_metrics)
    install_error_handlers(app)
    for module in (health, metrics, media, content, presign, imports, edits, sessions, workflows):
        app.include_router(module.router)
    return app
