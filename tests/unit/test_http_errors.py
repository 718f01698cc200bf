"""Each error of the tree answers with its own status and a body that names no server path."""

import errno
import json
import os
import re
from inspect import isclass
from typing import Annotated, Literal
from uuid import UUID, uuid4

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from pydantic.types import FailFast

from service.http import schemas
from service.http.errors import install_error_handlers
from service.kernel import errors
from service.kernel.errors import (
    BadSignature,
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    EditFailed,
    EditroomError,
    ImportUnavailable,
    InvalidMedia,
    NotFound,
    ObjectMissing,
    SandboxIOError,
    StorageError,
    TooLarge,
    UnknownParameter,
    UnsupportedMedia,
)

SERVER_PATH = "/srv/editroom/.editroom/uploads/upload-1234"


class MissingMedia(NotFound):
    pass


def answering(raised: BaseException) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/")
    async def fail() -> None:
        raise raised

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BadSignature("x"), 403),
        (NotFound("x"), 404),
        (MissingMedia("x"), 404),
        (Conflict("x"), 409),
        (TooLarge("x"), 413),
        (UnsupportedMedia("x"), 415),
        (InvalidMedia("x"), 422),
        (UnknownParameter("crop", "1", "unknown parameter", accepted="resize"), 422),
        (EditFailed("x"), 422),
        (ConfigurationError("x"), 500),
        (ObjectMissing("x"), 500),
        (EditroomError("x"), 500),
        (ImportUnavailable("x"), 502),
        (DatabaseUnavailable("x"), 503),
        (StorageError("x"), 503),
        (SandboxIOError("x"), 503),
    ],
)
def test_each_error_answers_with_its_own_status(error: EditroomError, status: int) -> None:
    response = answering(error).get("/")
    assert response.status_code == status == error.status
    assert response.json()["error"] == type(error).__name__
    assert response.json()["detail"] == "x" or "crop" in response.json()["detail"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EROFS])
def test_our_disk_trouble_is_a_503_without_the_path(code: int) -> None:
    response = answering(OSError(code, os.strerror(code), SERVER_PATH)).get("/")
    assert response.status_code == 503
    assert os.strerror(code) in response.json()["detail"]
    assert "try again" in response.json()["detail"]
    assert "/srv" not in response.text


@pytest.mark.parametrize("code", [errno.EACCES, errno.ENOENT, errno.EPERM])
def test_other_os_errors_are_ours_to_fix_and_say_nothing(code: int) -> None:
    response = answering(OSError(code, os.strerror(code), SERVER_PATH)).get("/")
    assert response.status_code == 500
    assert "/srv" not in response.text


def every_class(root: type[EditroomError]) -> list[type[EditroomError]]:
    return [root, *(cls for sub in root.__subclasses__() for cls in every_class(sub))]


def test_the_tree_drawn_in_the_docstring_is_the_tree() -> None:
    drawn = {
        name: (int(status), kind)
        for name, status, kind in re.findall(r"(\w+) +(\d{3}) +(final|retried)", errors.__doc__)
    }
    actual = {
        cls.__name__: (cls.status, "retried" if cls.retryable else "final")
        for cls in every_class(EditroomError)
        if cls.__module__ == errors.__name__
    }
    assert drawn == actual


def test_the_frameworks_own_refusals_have_our_shape() -> None:
    """No such route, a method the route does not take, a JSON body the parser gave up on:
    each says what was wrong with an error class, as every other refusal does."""
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def things(body: dict[str, object]) -> dict[str, object]:
        return body

    client = TestClient(app)
    missing = client.get("/nowhere")
    assert (missing.status_code, missing.json()["error"]) == (404, "NotFound")
    wrong_method = client.get("/things")
    assert (wrong_method.status_code, wrong_method.json()["error"]) == (405, "MethodNotAllowed")
    assert wrong_method.headers["allow"] == "POST"
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"n": ' + b"9" * 5000 + b"}", b'{"\xff": 1}'):
        refused = client.post("/things", content=body, headers={"content-type": "application/json"})
        assert refused.status_code == 400, body[:20]
        assert refused.json()["error"] == "InvalidInput"
        assert "could not be read as JSON" in refused.json()["detail"]


def test_request_validation_is_said_from_what_the_route_declares() -> None:
    """FastAPI's validation errors, in editroom's words: the parameter named, its value shown,
    what is accepted derived from the declared type, bounds and choices (any route, no list
    of them), never pydantic's message nor its raw list of errors."""
    app = FastAPI()
    install_error_handlers(app)

    class Batch(BaseModel):
        media: list[UUID] = Field(min_length=1)

    @app.post("/things/{thing_id}")
    async def things(
        thing_id: UUID,
        media: UUID,
        kind: Literal["image", "video"] | None = None,
        limit: Annotated[int, Query(gt=0, le=100)] = 10,
        ratio: Annotated[float, Query(gt=0, le=2)] = 1.0,
        fresh: bool = False,
        batch: Batch | None = None,
    ) -> None:
        return None

    client = TestClient(app)
    good = f"/things/{uuid4()}?media={uuid4()}"
    cases = [
        (f"/things/{uuid4()}", "media", "(not given)", "is required", "a media id (a UUID)"),
        (f"/things/x?media={uuid4()}", "thing_id", "x", "not an id", "a thing id (a UUID)"),
        (good + "&kind=audio", "kind", "audio", "not one of the choices", "one of: image, video"),
        (good + "&limit=0", "limit", "0", "out of range", "an integer from 1 to 100"),
        (good + "&limit=x", "limit", "x", "not an integer", "an integer from 1 to 100"),
        (good + "&ratio=9", "ratio", "9", "out of range", "a number more than 0 and at most 2"),
        (good + "&fresh=perhaps", "fresh", "perhaps", "not a boolean", "true or false"),
    ]
    for url, parameter, value, problem, accepted in cases:
        body = client.post(url).json()
        assert body == {
            "detail": f"{parameter}={value!r}: {problem}; accepted: {accepted}",
            "error": "InvalidParameter",
            "parameter": parameter,
            "value": value,
            "problem": problem,
            "accepted": accepted,
        }, url
    for document, parameter, value, accepted in [
        ({"media": ["x"]}, "media[0]", "x", "a media id (a UUID)"),
        ({"media": []}, "media", "[]", "a JSON array of at least 1, each a media id (a UUID)"),
        ({}, "media", "(not given)", "a JSON array of at least 1, each a media id (a UUID)"),
        ([1], "body", "[1]", "a JSON object with the keys media"),
    ]:
        body = client.post(good, json=document).json()
        assert (body["parameter"], body["value"], body["accepted"]) == (
            parameter, value, accepted,
        ), document  # fmt: skip


class Counted:
    """A value that counts how often it is made into text."""

    made = 0

    def __str__(self) -> str:
        Counted.made += 1
        return "counted"

    __repr__ = __str__


def nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_huge_value_is_made_into_text_only_as_far_as_it_is_shown() -> None:
    """A refused value is shown as its first 200 characters, and only those are made: a list
    of a hundred thousand items, or one nested deeper than Python recurses, costs what 200
    characters do (it used to be serialised whole, then cut)."""
    Counted.made = 0
    wide = errors.InvalidParameter("name", [Counted()] * 100_000, "not text", accepted="text")
    assert Counted.made <= 20
    assert wide.value == ("[" + '"counted", ' * 20)[:200] + "…"
    deep = errors.InvalidParameter("name", nested(100_000), "not text", accepted="text")
    assert deep.value == "[" * 200 + "…"
    keyed = errors.InvalidParameter("n", {"k": "v" * 10**6}, "not text", accepted="text")
    assert keyed.value == '{"k": "' + "v" * 193 + "…"
    raw = errors.InvalidParameter("body", "é".encode() * 10**6, "not JSON", accepted="JSON")
    assert raw.value == "é" * 200 + "…"


def test_a_request_with_many_problems_lists_ten_and_counts_the_rest() -> None:
    """Every problem FastAPI found is counted, the first ten listed (each cut as any refusal
    is), the first named as a refusal of one problem would be: the answer's length and the
    work of saying it stay bounded, however many problems a body holds."""
    app = FastAPI()
    install_error_handlers(app)

    class Named(BaseModel):
        model_config = {"extra": "forbid"}
        name: str

    @app.post("/things")
    async def things(named: Named) -> None:
        return None

    client = TestClient(app)
    document = {"name": "x", **{f"k{i}": "v" * 1000 for i in range(5000)}}
    body = client.post("/things", json=document).json()
    first = "k0='" + "v" * 200 + "…': not a key it takes; accepted: the keys name"
    assert body["parameter"] == "k0"
    assert body["detail"] == first + "; 4,999 more problems found, the first 9 listed in problems"
    assert [problem["parameter"] for problem in body["problems"]] == [f"k{i}" for i in range(10)]
    assert body["problems"][0]["detail"] == first
    assert body["problems_not_listed"] == 4990
    assert len(json.dumps(body)) < 10_000
    two = client.post("/things", json={"name": 1, "k": 2}).json()
    assert two["detail"].endswith("; 1 more problem found, listed in problems")
    assert [problem["parameter"] for problem in two["problems"]] == ["name", "k"]
    assert two["problems_not_listed"] == 0


def test_every_list_of_a_request_body_is_read_up_to_its_first_bad_item() -> None:
    """A megabyte of bad items in one list cost pydantic seconds of the event loop to find and
    describe each (8.8 s for half a million bad `kinds`): request bodies (their models forbid
    unknown keys) stop each list at its first bad item (pydantic's fail_fast)."""
    bodies = [
        model
        for model in vars(schemas).values()
        if isclass(model) and issubclass(model, BaseModel)
        and model.model_config.get("extra") == "forbid"
    ]  # fmt: skip
    lists = [
        (model.__name__, name, field.metadata)
        for model in bodies
        for name, field in model.model_fields.items()
        if "list[" in str(field.annotation)
    ]
    assert len(lists) >= 3
    for where in lists:
        assert FailFast(fail_fast=True) in where[2], where[:2]
