"""Event streams are capped (EDITROOM_MAX_EVENT_STREAMS): each costs the database work at
every change, and anyone can open them, so one too many is a 503 with Retry-After while the
streams already open keep being served; a stream that ends, however, frees its place.

The service runs under uvicorn on a real socket, and the streams are held open by real
clients, as a page's EventSource holds them."""

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from http.client import HTTPConnection
from pathlib import Path

import httpx2 as httpx
import pytest

from service.kernel.settings import Settings
from tests.api import quick_settings
from tests.metrics import Scrape
from tests.queue import Conn, enqueue, insert_media
from tests.served import Served, served

LIMIT = 2
WAIT_SECONDS = 10.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path, max_event_streams=LIMIT)


@pytest.fixture
def server(settings: Settings) -> Iterator[Served]:
    with served(settings) as running:
        yield running


@pytest.fixture
def client(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Host": server.host}) as client:
        yield client


def hold(streams: ExitStack, client: httpx.Client, path: str) -> Iterator[str]:
    """Opens a stream and keeps it open (until `streams` closes, or its lines, the first
    read, are dropped: the generator's end closes the response)."""
    response = streams.enter_context(client.stream("GET", path, timeout=WAIT_SECONDS))
    assert response.status_code == 200
    lines = response.iter_lines()
    assert next(lines)
    return lines


def asked(server: Served, path: str) -> tuple[int, str | None, bytes]:
    """Status, Retry-After and body of a refusal, on a connection of its own (a stream that
    was not refused is closed at its first frame)."""
    connection = HTTPConnection("127.0.0.1", server.port, timeout=WAIT_SECONDS)
    try:
        connection.request("GET", path, headers={"Host": server.host})
        response = connection.getresponse()
        body = response.read() if response.status != 200 else response.read1()
        return response.status, response.getheader("Retry-After"), body
    finally:
        connection.close()


def open_gauge(client: httpx.Client) -> float:
    return Scrape(client.get("/metrics").text).value("editroom_event_streams")


def wait_until_open(client: httpx.Client, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while open_gauge(client) != count:
        assert time.monotonic() < deadline, f"{open_gauge(client)} streams open, not {count}"
        time.sleep(0.05)


def test_a_stream_beyond_the_limit_is_refused_and_the_open_ones_are_served(
    server: Served, client: httpx.Client, conn: Conn
) -> None:
    media = insert_media(conn)
    edit = enqueue(conn, media)["id"]
    with ExitStack() as streams:
        every = hold(streams, client, "/events")
        scoped = hold(streams, client, f"/events?media={media}")  # noqa: F841 - held open
        for path in ("/events", f"/edit/{edit}/events"):  # both kinds share the limit
            status, retry_after, refusal = asked(server, path)
            assert (status, retry_after) == (503, "10")
            body = json.loads(refusal)
            assert body["error"] == "StreamsBusy"
            assert body["limit"] == str(LIMIT)
            assert "EDITROOM_MAX_EVENT_STREAMS" in body["detail"]
        counted = Scrape(client.get("/metrics").text)
        assert counted.value("editroom_event_streams_refused_total") == 2
        assert counted.value("editroom_event_streams") == LIMIT
        later = str(enqueue(conn, media)["id"])
        assert any(later in line for line in every if line.startswith("data: "))


def test_a_stream_that_ends_frees_its_place(
    server: Served, client: httpx.Client, conn: Conn
) -> None:
    media = insert_media(conn)
    for _ in range(3):  # each round fills the limit; closing gives every place back
        with ExitStack() as streams:
            held = [hold(streams, client, "/events")]
            held.append(hold(streams, client, f"/edit/{enqueue(conn, media)['id']}/events"))
            assert asked(server, "/events")[0] == 503
        wait_until_open(client, 0)


def test_a_refused_scope_takes_no_place(client: httpx.Client) -> None:
    unknown = "00000000-0000-0000-0000-000000000001"
    for _ in range(LIMIT + 1):
        assert client.get(f"/events?session={unknown}").status_code == 404
        assert client.get(f"/edit/{unknown}/events").status_code == 404
    with ExitStack() as streams:
        held = [hold(streams, client, "/events") for _ in range(LIMIT)]
        assert len(held) == LIMIT


def test_the_refusal_is_documented(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/events", "/edit/{edit_id}/events"):
        refusal = paths[path]["get"]["responses"]["503"]
        assert "EDITROOM_MAX_EVENT_STREAMS" in refusal["description"]
        assert "Retry-After" in refusal["headers"]
