"""Signing a browser in when EDITROOM_API_TOKEN is set: the token becomes an HttpOnly,
SameSite=Strict cookie, which fetch and EventSource then send by themselves."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from service.http.deps import SettingsDep
from service.http.security import CHALLENGE, TOKEN_COOKIE
from service.kernel.errors import NotFound

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "",
    status_code=204,
    responses={
        303: {"description": "signed in from the sign-in page: back to the UI"},
        401: {"description": "not the API token"},
        404: {"description": "no EDITROOM_API_TOKEN is set: nothing to sign in to"},
    },
)
async def sign_in(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str, Form(min_length=1, description="the API token (EDITROOM_API_TOKEN)")],
) -> Response:
    """Sign this browser in with the API token (a form field `token`): it is kept in an
    HttpOnly, SameSite=Strict cookie until the browser closes."""
    expected = settings.api_token
    if expected is None:
        raise NotFound("no EDITROOM_API_TOKEN is set: every route is open, nothing to sign in to")
    if not hmac.compare_digest(token.encode(), expected.get_secret_value().encode()):
        return JSONResponse(
            {"detail": "that is not the API token (EDITROOM_API_TOKEN)", "error": "Unauthorized"},
            401, headers=CHALLENGE,
        )  # fmt: skip
    from_page = "text/html" in request.headers.get("accept", "")
    response = Response(status_code=303 if from_page else 204)
    if from_page:
        response.headers["location"] = "/"
    response.set_cookie(
        TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
        secure=settings.base_url.startswith("https://"),
    )  # fmt: skip
    return response


@router.delete("", status_code=204)
async def sign_out() -> Response:
    """Forget this browser's token cookie."""
    response = Response(status_code=204)
    response.delete_cookie(TOKEN_COOKIE, httponly=True, samesite="strict", path="/")
    return response
