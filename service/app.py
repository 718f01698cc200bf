"""The FastAPI application factory. Nothing here runs at import time."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.db import Database
from service.http import install_error_handlers
from service.routes import health
from service.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = settings.require_database_url()
        async with Database.connect(url, max_size=settings.db_pool_size) as database:
            app.state.database = database
            yield

    app = FastAPI(
        title="editroom",
        summary="A media editor driven over HTTP, with PostgreSQL as its queue.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.include_router(health.router)
    return app
