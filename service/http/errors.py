"""The one place editroom's exceptions become HTTP responses: each EditroomError carries its
status (service/kernel/errors.py); its body says what was wrong, never with a server path."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from service.http.validation import refusal
from service.kernel.errors import (
    EditroomError,
    InvalidParameter,
    Unavailable,
    described,
    io_trouble,
    shown,
)
from service.kernel.wording import counted

log = logging.getLogger(__name__)


# How soon to try again after our own trouble (a 503 without a class of its own to say).
RETRY_AFTER_SECONDS = Unavailable.retry_after_seconds
# The problems of one request a refusal lists; more are counted, not listed.
PROBLEMS_LISTED = 10


async def _editroom_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EditroomError)
    headers = retry_after(exc.retry_after_seconds) or {}
    if exc.closes_connection:
        headers["Connection"] = "close"
    return JSONResponse(exc.body(), exc.status, headers=headers)


def retry_after(seconds: int | None) -> dict[str, str] | None:
    """The Retry-After header of an answer that asks to come back later (a 429 or 503)."""
    return None if seconds is None else {"Retry-After": str(seconds)}


async def _os_error(request: Request, exc: Exception) -> JSONResponse:
    """An OSError that reached a route: our disk's trouble (io_trouble: a full disk, an I/O
    error) is a 503 to try again, without the file's name (a server path). Anything else is a
    bug: on to the server's 500."""
    assert isinstance(exc, OSError)
    if not io_trouble(exc):
        raise exc
    log.warning("I/O trouble", extra={"path": request.url.path, "error": described(exc)})
    detail = f"the server's storage failed ({described(exc)}); try again"
    body = {"detail": detail, "error": "Unavailable"}
    return JSONResponse(body, 503, headers=retry_after(RETRY_AFTER_SECONDS))


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own validation, refused as editroom refuses anything: the first problem,
    named, its value shown, what is accepted said from what the route declares. A body may
    hold thousands of problems (a hundred thousand unknown keys fit in EDITROOM_MAX_JSON_BYTES):
    the first PROBLEMS_LISTED are listed, the rest counted, so the refusal's work and length
    stay bounded."""
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    if problems[0]["type"] == "json_invalid":  # its loc is the body and the character it stopped at
        return _not_json(problems[0], exc.body)
    route = request.scope.get("route")
    listed = [refusal(route, _as_given(problem)) for problem in problems[:PROBLEMS_LISTED]]
    body = listed[0].body()
    if len(problems) > 1:
        body |= _more_problems(listed, found=len(problems))
    return JSONResponse(body, listed[0].status)


def _as_given(problem: dict[str, Any]) -> dict[str, Any]:
    if problem["type"] == "missing":  # its input is what held the value, not the value
        return {**problem, "input": None}
    return problem


def _more_problems(listed: list[InvalidParameter], *, found: int) -> dict[str, Any]:
    """The body's account of a request's other problems: the detail says how many, `problems`
    lists the first (the first one again included, so it reads whole), `problems_not_listed`
    counts the rest."""
    detail = f"{listed[0]}; {counted(found - 1, 'more problem')} found"
    if found > len(listed):
        detail += f", the first {len(listed) - 1} listed in problems"
    else:
        detail += ", listed in problems"
    return {
        "detail": detail,
        "problems": [{"detail": str(refused), **refused.details()} for refused in listed],
        "problems_not_listed": found - len(listed),
    }


def _not_json(error: dict[str, Any], document: object) -> JSONResponse:
    where = error["loc"][-1] if error["loc"] else 0
    why = error.get("ctx", {}).get("error", error["msg"])
    problem = f"not JSON: {why} at character {where}"
    body = {
        "detail": f"the request body is {problem}",
        "error": "InvalidParameter",
        "parameter": "body",
        "value": shown(document),
        "problem": problem,
        "accepted": "a JSON document",
    }
    return JSONResponse(body, 422)


# Starlette's and FastAPI's own refusals (no such route, a method the route does not take, a
# body its JSON parser gave up on), named as ours are.
_HTTP_ERRORS = {400: "InvalidInput", 404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge"}
# FastAPI's words when the JSON parser raised something other than a decoding error: JSON
# nested deeper than Python recurses, a number of more digits than int() reads, bytes not UTF-8.
_UNPARSED_BODY = "There was an error parsing the body"


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail
    if exc.status_code == 400 and detail == _UNPARSED_BODY:
        detail = (
            "the request body could not be read as JSON: it is not UTF-8, or nests too deep, "
            "or holds a number of too many digits"
        )
    body = {"detail": detail, "error": _HTTP_ERRORS.get(exc.status_code, "HTTPError")}
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def _client_went_away(request: Request, _exc: Exception) -> Response:
    log.info("client disconnected mid-request", extra={"path": request.url.path})
    return Response(status_code=400)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(EditroomError, _editroom_error)
    app.add_exception_handler(OSError, _os_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(ClientDisconnect, _client_went_away)
