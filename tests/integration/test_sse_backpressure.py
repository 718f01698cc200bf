"""A client that stops reading an event stream is dropped; everyone else keeps receiving.

The service runs under uvicorn on a real socket whose send buffer is tiny, and the stalled
client's receive buffer is small, so a few hundred edits fill both and the server's own
write buffer: from then on the stalled stream's frames cannot be handed over."""

import json
import queue
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import httpx2 as httpx
import pytest
from psycopg.types.json import Jsonb

from service.domain import events
from service.domain.events import MAX_PENDING_IDS, Feed
from service.kernel.settings import Settings
from tests.api import quick_settings
from tests.metrics import Scrape
from tests.queue import Conn, enqueue, insert_media
from tests.served import served
from tests.waiting import eventually

STALL_SECONDS = 1.0
EDITS = 400  # well over the buffers between the server and the stalled client
WAIT_SECONDS = 20.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path, sse_stall_seconds=STALL_SECONDS)


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[int, str]]:
    with served(settings, send_buffer=4096) as running:
        yield running.port, running.host


def stalled_client(port: int, host: str) -> socket.socket:
    """Asks for the whole queue's stream, then never reads a byte."""
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    client.connect(("127.0.0.1", port))
    client.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return client


def read_until_closed(client: socket.socket, seconds: float) -> bool:
    """True when the server closed the connection within `seconds` (what it had written
    before arrives first)."""
    client.settimeout(seconds)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            if not client.recv(65536):
                return True
    except (TimeoutError, ConnectionResetError) as exc:
        return isinstance(exc, ConnectionResetError)
    return False


def follow(port: int, host: str, edits: "queue.Queue[str]", stop: threading.Event) -> None:
    url = f"http://127.0.0.1:{port}/events"
    with (
        httpx.Client(headers={"Host": host}, timeout=WAIT_SECONDS) as client,
        client.stream("GET", url) as response,
    ):
        name = ""
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name == "edit":
                edits.put(json.loads(line.removeprefix("data: "))["id"])


def wait_for(edits: "queue.Queue[str]", edit_id: UUID) -> None:
    while edits.get(timeout=WAIT_SECONDS) != str(edit_id):
        pass


def scrape(port: int, host: str) -> Scrape:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", headers={"Host": host})
    assert response.status_code == 200
    return Scrape(response.text)


def dropped(port: int, host: str) -> float:
    return scrape(port, host).value("editroom_event_streams_dropped_total", reason="stalled")


def test_a_stalled_client_is_dropped_while_others_keep_receiving(
    server: tuple[int, str], conn: Conn
) -> None:
    port, host = server
    seen: queue.Queue[str] = queue.Queue()
    stop = threading.Event()
    reader = threading.Thread(target=follow, args=(port, host, seen, stop), daemon=True)
    reader.start()
    stalled = stalled_client(port, host)
    try:
        media = insert_media(conn)
        eventually(lambda: scrape(port, host).value("editroom_event_streams") == 2,
                   what="both streams to be subscribed")  # fmt: skip
        made = [enqueue(conn, media)["id"] for _ in range(EDITS)]
        wait_for(seen, made[-1])
        # The stalled client still reads nothing until the service has dropped it.
        eventually(lambda: dropped(port, host) == 1, timeout=WAIT_SECONDS,
                   what="the stalled stream to be dropped")  # fmt: skip
        assert read_until_closed(stalled, WAIT_SECONDS)
        later = enqueue(conn, media)["id"]
        wait_for(seen, later)  # the reader was never held up, nor dropped
        counted = scrape(port, host)
        assert counted.value("editroom_event_streams_dropped_total", reason="stalled") == 1
        assert counted.value("editroom_event_streams_dropped_total", reason="behind") == 0
        assert counted.value("editroom_event_streams") == 1  # the reader's
    finally:
        stop.set()
        stalled.close()


def test_a_stream_whose_feed_falls_behind_ends_and_is_counted(
    server: tuple[int, str], conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    port, host = server
    monkeypatch.setattr(events, "MAX_PENDING_IDS", 3)
    media = insert_media(conn)
    url = f"http://127.0.0.1:{port}/events"
    with (
        httpx.Client(headers={"Host": host}, timeout=WAIT_SECONDS) as client,
        client.stream("GET", url) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("retry: ")
        while not next(lines).startswith("event: stats"):  # subscribed
            pass
        # One statement's ten edits reach the feed in one notification, between two takes.
        conn.execute("SELECT editroom.enqueue_edits(%s, %s)", ([media] * 10, Jsonb([])))
        list(lines)  # the stream ends
    counted = scrape(port, host)
    assert counted.value("editroom_event_streams_dropped_total", reason="behind") == 1
    assert counted.value("editroom_event_streams_dropped_total", reason="stalled") == 0
    assert counted.value("editroom_event_streams") == 0


def test_a_feed_too_far_behind_overflows_and_keeps_nothing() -> None:
    feed = Feed()
    for _ in range(MAX_PENDING_IDS + 1):
        feed.notify(UUID(int=len(feed.take()[0]) + 1))  # taken: never behind
    assert not feed.overflowed
    for number in range(MAX_PENDING_IDS + 1):
        feed.notify(UUID(int=number + 1))
    assert feed.overflowed
    assert feed.take() == ([], False)
