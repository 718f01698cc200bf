"""Safe to open in a browser, without accounts: one pure ASGI middleware, in front of every
route, that

- answers only the Host names allowed (EDITROOM_ALLOWED_HOSTS): a page on another name that
  resolves to this machine (DNS rebinding) gets 400;
- refuses state-changing requests (POST, PUT, PATCH, DELETE) a browser sends from another
  origin: a foreign `Origin`, or `Sec-Fetch-Site: cross-site` / `same-site`, gets 403. Plain
  form posts and multipart uploads need no CORS preflight, so CORS alone stops nothing here.
  Clients that send neither header (curl, scripts) are not browsers and pass;
- with EDITROOM_API_TOKEN set, asks every route but OPEN_PATHS for the token, as a bearer
  header or as the HttpOnly cookie `POST /auth` sets (EventSource cannot send headers);
- adds the security headers to every answer, the Content-Security-Policy chosen in one place
  (PAGE_POLICY for HTML pages, /docs included: it has no inline script);
- makes the public URL the base of a redirect the framework builds from the request (a
  trailing slash); the absolute URLs in answers are on it too (service/http/links.py).
"""

import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.kernel.excerpt import excerpt
from service.kernel.settings import Settings

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_COOKIE = "editroom_token"
# Open without the token: probes, Prometheus (it scrapes counts, no media and no ids), the
# sign-in itself, and a presigned upload's target, whose signature is its credential.
OPEN_PATHS = re.compile(r"/healthz|/readyz|/metrics|/auth|/bucket/upload/[^/]+/data")
# With EDITROOM_URL_SIGNING_KEY set, result addresses too: each must carry a signature (the
# route checks it), which is its credential, as an imgproxy URL's is; pages anywhere may
# then show them in <img src>.
SIGNED_PATHS = re.compile(r"/media/[^/]+/.+")

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Anything that is not HTML (JSON, media, metrics): nothing runs, nothing frames it.
RESOURCE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; frame-ancestors 'none'"
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def split_host(value: str) -> tuple[str, int | None] | None:
    """A Host header's name and port: 'example:80' → ('example', 80), '[::1]' → ('[::1]',
    None); None when it is not a host at all."""
    found = re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(?::(\d{1,5}))?", value.strip().lower())
    if found is None:
        return None
    return found.group(1).rstrip("."), None if found.group(2) is None else int(found.group(2))


def allowed_host_names(settings: Settings) -> frozenset[str] | None:
    """The Host entries served (a name, or name:port); None: any Host."""
    entries = [entry.strip() for entry in settings.allowed_hosts.split(",") if entry.strip()]
    if "*" in entries:
        return None
    bind = f"[{settings.host}]" if ":" in settings.host else settings.host
    public = urlsplit(settings.base_url).netloc
    return frozenset(entry.lower() for entry in (entries or [*LOOPBACK_HOSTS, bind]) + [public])


def host_allowed(host: str, allowed: frozenset[str] | None) -> bool:
    """Whether a request's Host is served: its name is allowed on any port, or name:port is."""
    parts = split_host(host)
    if parts is None:
        return False
    if allowed is None:
        return True
    name, port = parts
    return name in allowed or f"{name}:{port}" in allowed


def origin_of(url: str) -> str | None:
    """scheme://host[:port] as browsers write an Origin, the default port left out."""
    parts = urlsplit(url.strip().lower())
    host = split_host(parts.netloc)
    if parts.scheme not in ("http", "https") or host is None:
        return None
    name, port = host
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{name}" + ("" if port in (None, default) else f":{port}")


@dataclass(frozen=True)
class Guard:
    """What the middleware enforces, read once from the settings."""

    hosts: frozenset[str] | None
    origins: frozenset[str]
    base_url: str
    token: bytes | None
    signed_results: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> "Guard":
        listed = [origin_of(entry) for entry in settings.allowed_origins.split(",") if entry]
        public = origin_of(settings.base_url)
        token = settings.api_token
        return cls(
            hosts=allowed_host_names(settings),
            origins=frozenset(origin for origin in (*listed, public) if origin),
            base_url=settings.base_url,
            token=None if token is None else token.get_secret_value().encode(),
            signed_results=settings.url_signing_key is not None,
        )

    def refusal(self, scope: Scope, headers: Headers) -> Response | None:
        """The answer to a request that may not pass, or None."""
        host = headers.get("host", "")
        if not host_allowed(host, self.hosts):
            return _error(
                400, "HostNotAllowed",
                f"Host {excerpt(host)!r} is not served here: use {self.base_url}, or add the "
                "name to EDITROOM_ALLOWED_HOSTS",
            )  # fmt: skip
        if scope["method"] not in SAFE_METHODS and (why := self._cross_site(scope, headers)):
            return _error(403, "CrossSiteRequest", why)
        if self.token is not None and not self._open(scope["path"]):
            return self._unless_token(scope, headers)
        return None

    def _open(self, path: str) -> bool:
        return bool(
            OPEN_PATHS.fullmatch(path) or (self.signed_results and SIGNED_PATHS.fullmatch(path))
        )

    def _cross_site(self, scope: Scope, headers: Headers) -> str | None:
        origin, site = headers.get("origin"), headers.get("sec-fetch-site")
        own = origin_of(f"{scope['scheme']}://{headers['host']}")
        trusted = origin is not None and origin_of(origin) in self.origins | {own}
        if origin is not None and not trusted:
            return (
                f"{scope['method']} from a page of {excerpt(origin)} is refused: only this "
                "service's own pages (and EDITROOM_ALLOWED_ORIGINS) may change things here"
            )
        if site in ("cross-site", "same-site") and not trusted:
            return (
                f"{scope['method']} from another site (Sec-Fetch-Site: {site}) is refused: only "
                "this service's own pages (and EDITROOM_ALLOWED_ORIGINS) may change things here"
            )
        return None

    def _unless_token(self, scope: Scope, headers: Headers) -> Response | None:
        assert self.token is not None
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        given = credentials.strip() if scheme.lower() == "bearer" else None
        given = given or cookie_parser(headers.get("cookie", "")).get(TOKEN_COOKIE)
        if given is not None and hmac.compare_digest(given.encode(), self.token):
            return None
        if scope["method"] == "GET" and "text/html" in headers.get("accept", ""):
            return HTMLResponse(SIGN_IN_PAGE, 401, headers=CHALLENGE)
        wrong = "is not the one" if given else "is missing"
        return _error(
            401, "Unauthorized",
            f"the API token {wrong}: send `Authorization: Bearer <EDITROOM_API_TOKEN>`, or "
            "sign in with POST /auth",
            headers=CHALLENGE,
        )  # fmt: skip


CHALLENGE = {"www-authenticate": 'Bearer realm="editroom"'}
SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>editroom: sign in</title></head>
<body><main><h1>editroom</h1>
<p>This editroom asks for its API token (EDITROOM_API_TOKEN), once per browser session.</p>
<form method="post" action="/auth">
<label>API token <input type="password" name="token" autocomplete="current-password" required>
</label> <button>Sign in</button></form></main></body></html>
"""


def _error(status: int, error: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"detail": detail, "error": error}, status, headers=headers)


def content_security_policy(content_type: str) -> str:
    return PAGE_POLICY if content_type.startswith("text/html") else RESOURCE_POLICY


class BrowserSafety:
    """The middleware; see the module's docstring."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self._app = app
        self._guard = Guard.from_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        secured = _Secured(send, scope=scope, request_host=headers.get("host", ""),
                           base_url=self._guard.base_url)  # fmt: skip
        refusal = self._guard.refusal(scope, headers)
        if refusal is not None:
            await refusal(scope, receive, secured)
            return
        await self._app(scope, receive, secured)


class _Secured:
    """`send` with the security headers added, and the public URL as a redirect's base."""

    def __init__(self, send: Send, *, scope: Scope, request_host: str, base_url: str) -> None:
        self._send = send
        self._own = f"{scope['scheme']}://{request_host}"
        self._base_url = base_url

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in HEADERS.items():
                headers.setdefault(name, value)
            content_type = headers.get("content-type", "")
            headers["content-security-policy"] = content_security_policy(content_type)
            self._rebase_location(headers)
        await self._send(message)

    def _rebase_location(self, headers: MutableHeaders) -> None:
        location = headers.get("location")
        if location is not None and location.startswith(f"{self._own}/"):
            headers["location"] = self._base_url + location.removeprefix(self._own)
