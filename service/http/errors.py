"""The one place editroom's exceptions become HTTP statuses and error bodies."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from service.domain.library import ChecksBusy
from service.kernel.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    EditroomError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from service.kernel.excerpt import excerpt
from service.kernel.storage.base import ObjectMissing, StorageError

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[EditroomError], int] = {
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    TooLarge: 413,
    UnsupportedMedia: 415,
    DatabaseUnavailable: 503,
    ChecksBusy: 503,  # every upload check slot busy: try again after Retry-After
    StorageError: 503,  # the bucket or the disk: try again
    ObjectMissing: 500,  # a stored object is gone: nothing a retry mends
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
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, ChecksBusy) else None
    return JSONResponse(body, status_for(exc), headers=headers)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation, in the same shape as ours: the first problem named."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    parameter = str(first["loc"][-1]) if first["loc"] else "request"
    value = excerpt(first.get("input"))
    body = {
        "detail": f"{parameter}={value!r}: {first['msg']}",
        "error": "InvalidParameter",
        "parameter": parameter,
        "value": value,
        "accepted": first["msg"],
        "errors": jsonable_errors(exc),
    }
    return JSONResponse(body, 422)


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    return [
        {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]


async def _client_went_away(request: Request, _exc: Exception) -> Response:
    log.info("client disconnected mid-request", extra={"path": request.url.path})
    return Response(status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EditroomError, _editroom_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(ClientDisconnect, _client_went_away)
