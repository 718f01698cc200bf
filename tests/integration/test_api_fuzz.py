"""Schemathesis against the OpenAPI document: every operation but imports (which reach out to
the network) gets a few generated requests, valid and invalid, and none may answer 5xx.

Bounded and deterministic: a fixed number of examples per operation and mode, derandomised,
no shrinking, sent in-process to the real app, database and local storage. Every 5xx found is
listed at the end, each with the curl command that reproduces it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok
from schemathesis.generation.case import Case as AnyCase
from schemathesis.schemas import APIOperation as AnyOperation

from tests import media
from tests.api import Api, api_settings, running_api

Operation = AnyOperation[Any, Any, Any, Any]
Case = AnyCase[Operation]
EXAMPLES_PER_MODE = 8
EXCLUDED_PATHS = ("/bucket/import",)  # imports fetch URLs: not for a fuzzer on the network


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings_ = api_settings(database_url, tmp_path / "data", "local", None)
    with running_api(settings_) as running:
        running.upload(media.image_bytes("PNG"))  # something for the listings to show
        yield running


@pytest.fixture
def operations(api: Api) -> list[Operation]:
    schema = schemathesis.openapi.from_dict(api.client.app.openapi())  # type: ignore[attr-defined]
    found = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in found), "the OpenAPI document is invalid"
    operations = [result.ok() for result in found if isinstance(result, Ok)]
    return [operation for operation in operations if operation.path not in EXCLUDED_PATHS]


def send(api: Api, case: Case) -> Any:
    """The case as a request of the app's own test client (httpx: raw bodies are `content`)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    request: dict[str, Any] = {
        key: kwargs[key] for key in ("method", "url", "headers", "params") if key in kwargs
    }
    request["params"] = {**request.get("params", {}), **_no_waiting(request.get("params", {}))}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), bytes | str):
        request["content"] = kwargs["data"]
    elif "data" in kwargs or "files" in kwargs:
        request["data"], request["files"] = kwargs.get("data"), kwargs.get("files")
    return api.client.request(**request)


def _no_waiting(params: dict[str, Any]) -> dict[str, Any]:
    """A generated wait= is kept short: nothing runs the edits, so it would be waited in full."""
    return {"wait": "0"} if "wait" in params else {}


def test_no_operation_answers_5xx(api: Api, operations: list[Operation]) -> None:
    server_errors: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE, derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def probe(case: Case) -> None:
                curl = case.as_curl_command(base_url="http://testserver")
                try:
                    response = send(api, case)
                except Exception as exc:  # the test client re-raises what the app did not handle
                    server_errors.append(f"raised {exc!r}\n  {curl}")
                    return
                if response.status_code >= 500:
                    server_errors.append(f"{response.status_code} {response.text[:300]}\n  {curl}")

            try:
                probe()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
    assert server_errors == [], "\n".join(server_errors)
