"""The FastAPI application factory. Nothing here runs at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from runner.engine.ops.base import Limits
from runner.engine.sandbox import Sandbox
from service.domain.edits import Edits
from service.domain.events import EditEvents
from service.domain.health import Health
from service.domain.imports import Imports
from service.domain.library import MediaLibrary
from service.domain.live import LiveEdits
from service.domain.results import Results
from service.domain.sessions import Sessions
from service.domain.workflows import Workflows
from service.http.body_limit import BodyLimit
from service.http.deps import check_body_type, check_query
from service.http.docs import install_docs
from service.http.errors import install_error_handlers
from service.http.links import Links
from service.http.openapi import openapi
from service.http.routes import (
    auth,
    content,
    edits,
    health,
    imports,
    media,
    metrics,
    operations,
    presign,
    results,
    sessions,
    ui,
    workflows,
)
from service.http.routes import events as live_events
from service.http.security import BrowserSafety
from service.http.sse import stream_slots
from service.kernel.db import Database
from service.kernel.heap import settle_heap
from service.kernel.metrics import HttpMetricsMiddleware, ServiceMetrics
from service.kernel.receive import body_pace, upload_slots
from service.kernel.settings import Settings
from service.kernel.signing import secret_key
from service.kernel.storage.factory import open_storage


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    service_metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.require_database_url()
        async with Database.connect(
            url,
            max_size=settings.db_pool_size,
            getconn_timeout=settings.db_pool_timeout_seconds,
            open_timeout=settings.db_pool_open_timeout_seconds,
        ) as database:
            app.state.health = Health(database)
            app.state.library = MediaLibrary(
                database=database,
                storage=await open_storage(settings),
                sandbox=Sandbox.from_settings(settings),
                settings=settings,
            )
            app.state.signing_key = secret_key(settings)
            app.state.events = events = EditEvents(database)  # server.end_waits at shutdown
            app.state.edits = Edits(
                database=database, events=events, settings=settings, metrics=service_metrics
            )
            app.state.results = Results(
                edits=app.state.edits, library=app.state.library,
                wait_seconds=settings.result_wait_seconds,
            )  # fmt: skip
            app.state.live = LiveEdits(database, events)
            app.state.sessions = Sessions(database)
            app.state.imports = Imports(
                database=database, settings=settings, metrics=service_metrics
            )
            app.state.workflows = Workflows(
                database=database, edits=app.state.edits, settings=settings,
                metrics=service_metrics,
            )  # fmt: skip
            await events.start()
            # The first upload's check must not wait for the forkserver's imports (seconds):
            # they run now, in a thread (the event loop stays free), before the service is up.
            await app.state.library.sandbox.warm()
            # FastAPI builds a route's handler (its dependencies, its body and response
            # models) on the route's first request; the document builds them all now, with
            # the document /docs asks for.
            app.openapi()
            settle_heap()  # start-up's objects out of the garbage collector's walks
            try:
                yield
            finally:
                app.state.imports.close()
                await app.state.library.sandbox.close()
                await events.stop()

    app = FastAPI(
        title="editroom",
        summary="A media editor driven over HTTP, with PostgreSQL as its queue.",
        lifespan=lifespan,
        docs_url=None,  # served below from the bundled Swagger UI: /docs works offline
        redoc_url=None,
        # every route's query: only what it takes, once; a JSON body: sent as JSON
        dependencies=[Depends(check_query), Depends(check_body_type)],
    )
    app.openapi_version = "3.0.3"  # Swagger UI 4 (the pinned swagger-ui-bundle) reads 3.0 only
    app.openapi = openapi(app, Limits.from_settings(settings))  # type: ignore[method-assign]
    install_docs(app)
    app.state.settings = settings
    app.state.metrics = service_metrics
    app.state.upload_slots = upload_slots(settings.max_concurrent_uploads)
    app.state.stream_slots = stream_slots(settings.max_event_streams, service_metrics)
    app.state.accepted_parameters = {}  # by route, filled as routes are asked (check_query)
    signing = settings.url_signing_key
    app.state.links = Links(
        app, base_url=settings.base_url,
        url_signing_key=None if signing is None else signing.get_secret_value().encode(),
    )  # fmt: skip
    app.add_middleware(BrowserSafety, settings=settings)  # inside: refusals are counted
    app.add_middleware(BodyLimit, max_bytes=settings.max_json_bytes, pace=body_pace(settings))
    app.add_middleware(HttpMetricsMiddleware, metrics=service_metrics)
    install_error_handlers(app)
    for module in (
        health, metrics, auth, media, content, presign, imports, edits, operations, sessions,
        workflows, live_events, results, ui,
    ):  # fmt: skip
        app.include_router(module.router)
    return app
