"""The one place editroom's exceptions become HTTP statuses and error bodies."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from service.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    EditroomError,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)

STATUS_BY_ERROR: dict[type[EditroomError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooLarge: 413,
    UnsupportedMedia: 415,
    DatabaseUnavailable: 503,
    ConfigurationError: 500,
}


def status_for(error: EditroomError) -> int:
    for error_class in type(error).__mro__:
        if error_class in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_class]
    return 500


async def _editroom_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EditroomError)
    body = {"detail": str(exc), "error": type(exc).__name__, **exc.details()}
    return JSONResponse(body, status_for(exc))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EditroomError, _editroom_error)
