"""Every route of the API takes the query parameters it declares, each once: a typo or a
repeat is a 422 naming it, never ignored in silence. Walked over the app's own routes, so a
route added later is held to it too."""

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.domain.sessions import Sessions
from service.http.app import create_app
from service.kernel.errors import DatabaseUnavailable
from tests.api import Api, api_settings, running_api
from tests.media import image_bytes


@pytest.fixture(scope="module")
def api(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data = tmp_path_factory.mktemp("query") / "data"
    with running_api(api_settings(module_database_url, data, "local", None)) as running:
        yield running


# The routes that read the edit language check their parameters in it (operations may repeat):
# tests/integration/test_edit_api.py and test_workflows.py hold them to it.
OWN_GRAMMAR = {("post", "/edit"), ("post", "/workflows"), ("put", "/workflows/{workflow_id}")}


def _operations() -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, path with its placeholders filled, the query parameters its document lists)
    for each operation the API documents, but those of OWN_GRAMMAR."""
    settings = api_settings("postgresql://unused", Path("unused"), "local", None)
    document = create_app(settings).openapi()
    found = []
    for template, operations in document["paths"].items():
        path = template.replace("{operations}", "resize=10x")
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)
        for method, operation in operations.items():
            if (method, template) in OWN_GRAMMAR:
                continue
            parameters = operation.get("parameters", [])
            names = tuple(p["name"] for p in parameters if p["in"] == "query")
            found.append((method.upper(), path, names))
    return found


CHECKED = _operations()


def test_the_walk_covers_the_api() -> None:
    assert len(CHECKED) >= 30  # every operation of the document, not a few
    assert any(names for _, _, names in CHECKED)


@pytest.mark.parametrize(
    ("path", "parameter", "value"),
    [
        ("/edit?flip=h", "media", "(not given)"),
        ("/edit?media=xyz&flip=h", "media", "xyz"),
        ("/edit?session=xyz&flip=h", "session", "xyz"),
        ("/sessions?media=xyz", "media", "xyz"),
    ],
)
def test_an_id_is_refused_in_the_same_words_wherever_it_is_read(
    api: Api, path: str, parameter: str, value: str
) -> None:
    """POST /edit reads its ids itself (from the edit language's query) and said "a media id
    (UUID)", or "a media id" alone when none was given, where every route says "(a UUID)"."""
    response = api.client.post(path)
    assert response.status_code == 422
    body = response.json()
    assert (body["parameter"], body["value"]) == (parameter, value)
    assert body["accepted"] == f"a {parameter} id (a UUID)"


@pytest.mark.parametrize(("method", "path", "accepted"), CHECKED, ids=lambda v: str(v)[:40])
def test_an_unknown_parameter_is_refused_by_name(
    api: Api, method: str, path: str, accepted: tuple[str, ...]
) -> None:
    response = api.client.request(method, path, params={"colour": "red"})
    assert response.status_code == 422, response.text
    if method == "HEAD":
        return  # the same answer, without its body
    detail = response.json()["detail"]
    start = "colour='red': unknown parameter; accepted: "
    assert detail.startswith(start)
    listed = detail.removeprefix(start)
    # What the route takes is what its document says it takes.
    assert set(listed.split(" | ")) == (set(accepted) or {"none"})


@pytest.mark.parametrize(
    ("method", "path", "accepted"),
    [route for route in CHECKED if route[2]],
    ids=lambda v: str(v)[:40],
)
def test_a_parameter_given_twice_is_refused_by_name(
    api: Api, method: str, path: str, accepted: tuple[str, ...]
) -> None:
    name = accepted[-1]
    response = api.client.request(method, f"{path}?{name}=1&{name}=2")
    assert response.status_code == 422, response.text
    if method != "HEAD":
        assert response.json()["detail"] == (
            f"{name}='2': given more than once; accepted: one {name} parameter"
        )


def test_a_page_of_the_ui_takes_any_parameter(api: Api) -> None:
    """A link to the editor may carry a campaign's or a tracker's parameters."""
    assert api.client.get("/", params={"utm_source": "mail"}).status_code == 200


@pytest.mark.parametrize("scope", ["session", "workflow", "media"])
def test_events_of_a_scope_that_does_not_exist_are_a_404(api: Api, scope: str) -> None:
    missing = uuid.uuid4()
    response = api.client.get("/events", params={scope: str(missing)})
    assert response.status_code == 404
    assert str(missing) in response.json()["detail"]


def test_two_idempotency_keys_are_a_400(api: Api) -> None:
    response = api.client.post(
        f"/edit?media={uuid.uuid4()}&flip=h",
        headers=[("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert response.status_code == 400
    assert response.json()["detail"] == ("Idempotency-Key='a, b': given 2 times; accepted: one key")


def test_events_start_through_an_outage_so_the_browser_reconnects(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EventSource gives up on any answer but 200: a scope that cannot be looked up for an
    outage streams (and ends when the database is found gone), it is not refused."""

    async def unreachable(self: Sessions, session_id: uuid.UUID) -> None:
        raise DatabaseUnavailable("the database is unreachable")

    monkeypatch.setattr(Sessions, "state", unreachable)
    with api.client.stream("GET", "/events", params={"session": str(uuid.uuid4())}) as response:
        assert response.status_code == 200
        assert next(response.iter_lines()) == "retry: 2000"


@pytest.mark.parametrize(
    ("method", "path", "parameter", "value", "accepted"),
    [
        ("POST", "/sessions", "media", "(not given)", "a media id (a UUID)"),
        ("POST", "/sessions?media=xyz", "media", "xyz", "a media id (a UUID)"),
        ("GET", "/edit?limit=0", "limit", "0", "an integer from 1 to 500"),
        ("GET", "/bucket/upload?type=audio", "type", "audio", "one of: image, video"),
        (
            "GET", "/edit?status=bogus", "status", "bogus",
            "one of: queued, processing, completed, error, failed, cancelled",
        ),
        ("POST", "/bucket/upload/presign?size=abc", "size", "abc", "an integer of at least 1"),
        ("GET", "/edit/xyz", "edit_id", "xyz", "an edit id (a UUID)"),
    ],
)  # fmt: skip
def test_the_frameworks_validation_says_what_is_accepted_in_words(
    api: Api, method: str, path: str, parameter: str, value: str, accepted: str
) -> None:
    response = api.client.request(method, path)
    assert response.status_code == 422
    body = response.json()
    assert (body["parameter"], body["value"], body["accepted"]) == (parameter, value, accepted)
    assert set(body) == {"detail", "error", "parameter", "value", "problem", "accepted"}


@pytest.mark.parametrize(("method", "path", "accepted"), CHECKED, ids=lambda v: str(v)[:40])
def test_no_declared_parameter_refuses_in_pydantics_words(
    api: Api, method: str, path: str, accepted: tuple[str, ...]
) -> None:
    """Every query parameter of every route, given a value of no type it could take: when
    the refusal names it, it says what is accepted in editroom's words, not pydantic's."""
    for name in accepted:
        response = api.client.request(method, path, params={name: "\u00a7not-valid\u00a7"})
        if response.status_code != 422 or method == "HEAD":
            continue
        body = response.json()
        assert "errors" not in body and "Input should" not in response.text, (name, body)


@pytest.mark.parametrize("name", ["wait", "priority", "fresh", "media", "session"])
def test_an_edit_control_on_a_result_address_says_where_it_belongs(api: Api, name: str) -> None:
    """`?wait=` is POST /edit's: a result's address refuses it saying so, and what it takes."""
    response = api.client.get(f"/media/{uuid.uuid4()}/flip=h", params={name: "5"})
    assert response.status_code == 422
    body = response.json()
    assert (body["parameter"], body["accepted"]) == (name, "output | signature")
    assert f"not taken here: {name} is a parameter of POST /edit" in body["detail"]
    assert "waits for the edit by itself, up to EDITROOM_RESULT_WAIT_SECONDS" in body["detail"]


def test_every_operation_in_a_result_addresss_query_is_said_to_go_in_the_path(api: Api) -> None:
    """`/media/ID/flip=h?resize=800x`: the operations (and their modifiers) of an address are
    written in its path; given in its query string, each is refused saying so, with the
    address it meant, for every name of the language (GET /operations), of either kind."""
    roles: dict[str, set[str]] = {}
    for operation in api.client.get("/operations").json()["operations"]:
        first, *modifiers = (parameter["name"] for parameter in operation["parameters"])
        roles.setdefault(first, set()).add("an operation")
        for modifier in modifiers:
            roles.setdefault(modifier, set()).add(operation["name"])
    assert {"resize", "fit", "trim", "accurate", "headshot", "frames", "vcodec"} <= set(roles)
    media_id = uuid.uuid4()
    for name, role in roles.items():
        response = api.client.get(f"/media/{media_id}/flip=h", params={name: "1,2"})
        assert response.status_code == 422, name
        body = response.json()
        assert (body["parameter"], body["accepted"]) == (name, "output | signature")
        said = (
            "an operation"
            if "an operation" in role
            else f"a modifier of {' or '.join(sorted(role))}"
        )
        assert (
            f"not taken here: {name} is {said}: an address's operations are written in its path"
            in body["detail"]
        ), body
        assert body["detail"].endswith(
            f": /media/{media_id}/flip=h&{name}=1,2; accepted: output | signature"
        )


def test_a_resize_in_a_result_addresss_query_names_the_address_it_meant(api: Api) -> None:
    media_id = uuid.uuid4()
    response = api.client.get(f"/media/{media_id}/format=webp?resize=800x")
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "resize='800x': not taken here: resize is an operation: an address's operations are "
        "written in its path, as in POST /edit's query string and in the order they run, not "
        f"in its query string: /media/{media_id}/format=webp&resize=800x; accepted: "
        "output | signature"
    )
    alone = api.client.get(f"/media/{media_id}/?headshot").json()
    assert f": /media/{media_id}/headshot; accepted: " in alone["detail"], alone
    unknown = api.client.get(f"/media/{media_id}/format=webp?vignette=2").json()
    assert unknown["detail"].startswith("vignette='2': unknown parameter;")


@pytest.mark.parametrize("escaped", ["%FF", "%C0%AF", "%ED%A0%80", "a%F0%28%8C%28"])
def test_a_value_whose_escapes_are_not_utf8_is_refused_naming_it(api: Api, escaped: str) -> None:
    """Read with replacement characters, `text=%FF` was drawn on the picture as U+FFFD."""
    media_id = api.upload(image_bytes("PNG")).json()["id"]
    for response in (
        api.client.post(f"/edit?media={media_id}&text={escaped}"),
        api.client.get(f"/media/{media_id}/flip=h&text={escaped}"),
        api.client.get(f"/bucket/upload?type=image&cursor={escaped}"),
    ):
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["parameter"] in ("text", "cursor"), body
        assert "not UTF-8 text (the byte 0x" in body["detail"], body
        assert body["accepted"] == "UTF-8 text, each byte of a character escaped (é as %C3%A9)"
    assert api.client.get(f"/?utm_source={escaped}").status_code == 200  # a page takes any
