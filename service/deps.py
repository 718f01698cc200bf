"""FastAPI dependencies: what a route may ask for, built once in the app's lifespan."""

from typing import Annotated

from fastapi import Depends, Request

from service.db import Database
from service.settings import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
