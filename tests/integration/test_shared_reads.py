"""Subscribers told of one change share its read (events.Shared): pages left open on the
queue by many people, or requests waiting for one edit, cost one read per change, not one
each (300 /events streams once cost the service ~0.5 ms of CPU per event sent, and the
queries queued for the pool's connections ahead of every request)."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from service.domain.live import LiveEvent
from service.http.links import Links
from service.http.routes import events as events_route
from service.http.routes.events import _frame as frame
from service.kernel.db import Database
from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings
from tests.streams import Stream

STREAMS = 12
WAITERS = 8


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How many times each named query ran, in every process's Database, from now on."""
    counted: Counter[str] = Counter()
    lock = threading.Lock()
    for method in ("fetch_all", "fetch_one"):
        original = getattr(Database, method)

        async def counting(self: Database, query: str, _original: Any = original,
                           **params: Any) -> Any:  # fmt: skip
            with lock:
                counted[query] += 1
            return await _original(self, query, **params)

        monkeypatch.setattr(Database, method, counting)
    return counted


def upload(api: Api) -> str:
    response = api.upload(media.image_bytes("PNG", size=(64, 48)), filename="shared.png")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_streams_of_any_scope_told_of_one_change_read_it_once(
    api: Api, streams: list[Stream], reads: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: Counter[str] = Counter()

    def counted_frame(event: LiveEvent, links: Links) -> str:
        rendered[event.kind] += 1
        return frame(event, links)

    monkeypatch.setattr(events_route, "_frame", counted_frame)
    picture = upload(api)
    session = api.client.post("/sessions", params={"media": picture}).json()
    scopes = [{}, {"session": session["id"]}] * (STREAMS // 2)
    opened = [Stream(api, scope, streams) for scope in scopes]
    for stream in opened:
        stream.next("stats")
    reads.clear()

    made = api.client.post("/edit", params={"session": session["id"], "rotate": "90"}).json()

    for stream in opened:
        assert stream.next("edit")["id"] == made["id"]
        stream.next("stats", lambda counts: counts["queued"] == 1)
    # One statement made the edit; a stream woken a little later may be a generation on.
    assert reads["edits_changed"] <= 3, reads
    assert reads["status_counts"] <= 3, reads
    assert rendered["edit"] <= 3, rendered  # the frame sent to every stream made once


def test_requests_waiting_for_one_edit_read_it_once_when_it_ends(
    api: Api, reads: Counter[str]
) -> None:
    edit_params = {"media": upload(api), "rotate": "90"}
    made = api.client.post("/edit", params=edit_params).json()
    subscribers = api.client.app.state.events._subscribers  # type: ignore[attr-defined]
    with ThreadPoolExecutor(WAITERS) as pool:
        answers = [pool.submit(api.client.post, "/edit", params={**edit_params, "wait": "20"})
                   for _ in range(WAITERS)]  # fmt: skip
        deadline = time.monotonic() + 10
        while len(subscribers.get(UUID(made["id"]), ())) < WAITERS:
            assert time.monotonic() < deadline, "the requests never joined the edit"
            time.sleep(0.01)
        reads.clear()
        assert api.client.delete(made["url"]).status_code == 200
        joined = [answer.result().json() for answer in answers]

    assert {(edit["id"], edit["status"]) for edit in joined} == {(made["id"], "cancelled")}
    assert reads["edit_by_id"] <= 2, reads
