"""FastAPI dependencies: what a route may ask for, built once in the app's lifespan. The
database is not among them: routes reach it only through the domain's objects.

Every one is a coroutine function, though none awaits anything: FastAPI runs a plain function
dependency in its thread pool, and a hop to a thread and back for each (four or five a
request) cost more than the rest of a GET of a result."""

import re
from types import UnionType
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin
from urllib.parse import quote

from fastapi import Depends, Header, Request
from fastapi.params import Form
from fastapi.routing import APIRoute

from service.domain.edits import Edits
from service.domain.health import Health
from service.domain.idempotency import KEY_DESCRIPTION, KEY_HEADER, parse_key
from service.domain.imports import Imports
from service.domain.library import MediaLibrary
from service.domain.live import LiveEdits
from service.domain.results import Results, role_in_the_language
from service.domain.sessions import Sessions
from service.domain.workflows import Workflows
from service.http.links import Links
from service.http.openapi import ELSEWHERE, GRAMMAR, IN_THE_PATH, SELF_CHECKED
from service.kernel.errors import (
    InvalidHeader,
    InvalidParameter,
    UnknownParameter,
    UnsupportedContentType,
)
from service.kernel.excerpt import excerpt
from service.kernel.metrics import ServiceMetrics
from service.kernel.query import query_items
from service.kernel.settings import Settings
from service.kernel.slots import Slots


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_upload_slots(request: Request) -> Slots:
    slots: Slots = request.app.state.upload_slots
    return slots


async def get_health(request: Request) -> Health:
    health: Health = request.app.state.health
    return health


async def get_links(request: Request) -> Links:
    links: Links = request.app.state.links
    return links


async def get_library(request: Request) -> MediaLibrary:
    library: MediaLibrary = request.app.state.library
    return library


async def get_edits(request: Request) -> Edits:
    edits: Edits = request.app.state.edits
    return edits


async def get_results(request: Request) -> Results:
    results: Results = request.app.state.results
    return results


async def get_url_signing_key(request: Request) -> bytes | None:
    """EDITROOM_URL_SIGNING_KEY's bytes; None: result addresses are not signed."""
    settings: Settings = request.app.state.settings
    key = settings.url_signing_key
    return None if key is None else key.get_secret_value().encode()


async def get_sessions(request: Request) -> Sessions:
    sessions: Sessions = request.app.state.sessions
    return sessions


async def get_workflows(request: Request) -> Workflows:
    workflows: Workflows = request.app.state.workflows
    return workflows


async def get_imports(request: Request) -> Imports:
    imports: Imports = request.app.state.imports
    return imports


async def get_live(request: Request) -> LiveEdits:
    live: LiveEdits = request.app.state.live
    return live


async def get_metrics(request: Request) -> ServiceMetrics:
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


async def get_stream_slots(request: Request) -> Slots:
    slots: Slots = request.app.state.stream_slots
    return slots


async def get_signing_key(request: Request) -> bytes:
    key: bytes = request.app.state.signing_key
    return key


JSON_TYPE = "application/json"

SettingsDep = Annotated[Settings, Depends(get_settings)]
UploadSlotsDep = Annotated[Slots, Depends(get_upload_slots)]
HealthDep = Annotated[Health, Depends(get_health)]
LinksDep = Annotated[Links, Depends(get_links)]
LibraryDep = Annotated[MediaLibrary, Depends(get_library)]
EditsDep = Annotated[Edits, Depends(get_edits)]
ResultsDep = Annotated[Results, Depends(get_results)]
UrlSigningKeyDep = Annotated[bytes | None, Depends(get_url_signing_key)]
SessionsDep = Annotated[Sessions, Depends(get_sessions)]
WorkflowsDep = Annotated[Workflows, Depends(get_workflows)]
ImportsDep = Annotated[Imports, Depends(get_imports)]
SigningKeyDep = Annotated[bytes, Depends(get_signing_key)]
LiveDep = Annotated[LiveEdits, Depends(get_live)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
StreamSlotsDep = Annotated[Slots, Depends(get_stream_slots)]


async def check_query(request: Request) -> None:
    """Every API route's query string: a parameter the route does not take, or one given more
    than once, is refused by name (a typo would otherwise be ignored in silence, and of two
    values one would win unseen), as is one whose escapes are not UTF-8 (query_items). The
    routes that read the edit language (POST /edit, a workflow's definition) check theirs in
    the language, where operations may repeat."""
    route: APIRoute = request.scope["route"]
    if route.include_in_schema:  # the UI's pages take any link's parameters
        query_items(request.scope["query_string"].decode("latin-1"))  # refused unless UTF-8
    known: dict[str, Accepted | None] = request.app.state.accepted_parameters
    if route.unique_id not in known:
        known[route.unique_id] = accepted_parameters(route)
    accepted = known[route.unique_id]
    if accepted is None:
        return
    seen: set[str] = set()
    for name, value in request.query_params.multi_items():
        if name not in accepted.names:
            elsewhere = _where_it_belongs(request, route, name, value)
            problem = "unknown parameter" if elsewhere is None else f"not taken here: {elsewhere}"
            names = " | ".join(accepted.names) or "none"
            raise UnknownParameter(name, value, problem, accepted=names)
        if name in seen and name not in accepted.repeated:
            raise InvalidParameter(
                name, value, "given more than once", accepted=f"one {name} parameter"
            )
        seen.add(name)


# What a value keeps unescaped in a path suggested to a client: the edit language's separators.
_WRITTEN_AS_IS = ",:;.!~*'()"


def _where_it_belongs(request: Request, route: APIRoute, name: str, value: str) -> str | None:
    """Where a parameter the route does not take belongs, when the route says (None when
    not): another route's (ELSEWHERE: `wait` on a result's address), or the path, for an
    operation of the edit language on a route whose path holds them (IN_THE_PATH)."""
    extra = route.openapi_extra or {}
    said: str | None = extra.get(ELSEWHERE, {}).get(name)
    template = extra.get(IN_THE_PATH)
    role = None if said or template is None else role_in_the_language(name)
    if role is None:
        return said
    written = f"{name}={quote(value, safe=_WRITTEN_AS_IS)}" if value else name
    path = request.scope["raw_path"].decode("latin-1")
    joined = f"{path}{written}" if path.endswith("/") else f"{path}&{written}"
    return str(template).format(name=name, role=role, path=excerpt(joined))


class Accepted(NamedTuple):
    names: tuple[str, ...]  # every query parameter the route declares
    repeated: frozenset[str]  # those declared as a list (`id=A&id=B`), which may be repeated


def accepted_parameters(route: APIRoute) -> Accepted | None:
    """The query parameters the route declares, its dependencies' included; None for a route
    whose own grammar checks them (service.http.openapi.SELF_CHECKED), and for the UI's pages,
    which take none but must not refuse a link's tracking parameters."""
    if not route.include_in_schema or (route.openapi_extra or {}).get(GRAMMAR) in SELF_CHECKED:
        return None
    names: list[str] = []
    repeated: set[str] = set()
    dependants = [route.dependant]
    while dependants:
        dependant = dependants.pop()
        for field in dependant.query_params:
            if field.alias not in names:  # a dependency may declare one its route does too
                names.append(field.alias)
            if _is_list(field.field_info.annotation):
                repeated.add(field.alias)
        dependants.extend(dependant.dependencies)
    return Accepted(tuple(names), frozenset(repeated))


def _is_list(annotation: Any) -> bool:
    """list[X], or list[X] | None."""
    if get_origin(annotation) in (Union, UnionType):
        return any(_is_list(arg) for arg in get_args(annotation))
    return get_origin(annotation) is list


async def check_body_type(request: Request) -> None:
    """Every JSON body is read only when it is sent as JSON (`Content-Type: application/json`,
    or another `+json` type): any other type, or none, is a 415 naming the type expected.
    `curl -d` sends a form's type; read as a form, or guessed at, the same bytes would mean
    something else, and a plain HTML form could post them across sites without a preflight.
    An empty body is no body (POST /workflows then reads its query); forms (POST /auth) and
    uploads (read raw, whatever their type) are not JSON bodies. A JSON body's strings must
    be text (_check_text)."""
    route: APIRoute = request.scope["route"]
    body = route.body_field
    if body is None or isinstance(body.field_info, Form) or not await request.body():
        return
    declared = request.headers.get("content-type")
    media_type = (declared or "").partition(";")[0].strip().lower()
    if media_type == JSON_TYPE or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        await _check_text(request)
        return
    raise UnsupportedContentType(
        "Content-Type", declared, "this body is read as JSON only when sent as JSON",
        accepted=f"{JSON_TYPE} (curl: -H 'content-type: {JSON_TYPE}')",
    )  # fmt: skip


# A JSON escape of a UTF-16 surrogate (\ud800-\udfff): only a body holding one can hold a
# string no text can (a lone surrogate), so only such a body is walked (_check_text).
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def _check_text(request: Request) -> None:
    """A JSON body's strings are Unicode text: a lone surrogate (`"\ud800"`, an escape JSON
    allows and no text can hold: nothing can store or show it) is a 422 naming the string
    and where it is. A surrogate pair (an emoji written `"\ud83d\ude00"`) is one character."""
    if not _SURROGATE_ESCAPE.search(await request.body()):
        return
    found = _lone_surrogate(await request.json())
    if found is not None:
        where, text = found
        raise InvalidParameter(
            where, text.encode("utf-8", "backslashreplace").decode(),
            "the string holds a lone UTF-16 surrogate, which no text can hold",
            accepted="text (a character past U+FFFF written as a surrogate pair, or as itself)",
        )  # fmt: skip


def _lone_surrogate(document: object) -> tuple[str, str] | None:
    """The first string (a key or a value) holding a lone surrogate, and where: a JSON path
    (`body.ops[0].text`)."""
    pending: list[tuple[str, object]] = [("body", document)]
    while pending:
        where, value = pending.pop()
        if isinstance(value, str):
            if not _is_text(value):
                return where, value
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if not _is_text(key):
                    return where, key
                pending.append((f"{where}.{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{where}[{i}]", item) for i, item in reversed(list(enumerate(value))))
    return None


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def idempotency_key(
    request: Request,
    key: Annotated[str | None, Header(alias=KEY_HEADER, description=KEY_DESCRIPTION)] = None,
) -> str | None:
    """The request's Idempotency-Key, checked (service.domain.idempotency.parse_key): a 400
    when malformed or given more than once (which of two keys would the retry be?)."""
    given = [as_sent(value) for value in request.headers.getlist(KEY_HEADER)]
    if len(given) > 1:
        raise InvalidHeader(
            KEY_HEADER, ", ".join(given), f"given {len(given)} times", accepted="one key"
        )
    return parse_key(None if key is None else as_sent(key))


def as_sent(value: str) -> str:
    """A header's value as its client wrote it. HTTP headers are bytes, which Starlette reads
    as Latin-1; bytes that are UTF-8 (curl sends `é` so) are read as UTF-8, so that a refusal
    shows `é`, not `Ã©`. Anything else stays as Latin-1 read it."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]
