"""The API's own server (service/http/server.py): a stopping service ends its event streams
and waits instead of waiting for them; idle connections are kept as EDITROOM_KEEPALIVE_SECONDS
says.

Without that, uvicorn waits at shutdown for every response in flight: an `/events` stream
for ever, an edit's stream until its edit finishes, a `?wait=` up to its bound. Here nothing
runs the edit, so each would hold the stop open (the keep-alive alone is 15 s away)."""

import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from service.domain.live import KEEPALIVE_SECONDS
from service.kernel.settings import Settings
from tests.api import quick_settings
from tests.media import image_bytes
from tests.served import served

STOP_SECONDS = 5.0  # well under any wait above: the keep-alive, the 60 s `?wait=`
WAIT_SECONDS = 20.0


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Runs `work` in a thread; its result, or what it raised, lands in the list."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(work())
        except Exception as exc:  # the test looks at it
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_stopping_ends_open_streams_and_waits_cleanly(settings: Settings) -> None:
    assert STOP_SECONDS < KEEPALIVE_SECONDS
    with (
        served(settings) as running,
        httpx.Client(
            base_url=running.url, headers={"Host": running.host}, timeout=WAIT_SECONDS
        ) as client,
    ):
        uploaded = client.post(
            "/bucket/upload", files={"file": ("p.png", image_bytes("PNG"), "image/png")}
        )
        assert uploaded.status_code == 201, uploaded.text
        media = uploaded.json()["id"]
        queued = client.post("/edit", params={"media": media, "flip": "h"}).json()
        subscribed = threading.Barrier(3, timeout=WAIT_SECONDS)

        def whole_queue() -> list[str]:
            with client.stream("GET", "/events") as response:
                lines = []
                for line in response.iter_lines():  # raises on a connection cut short
                    lines.append(line)
                    if line == "event: stats":
                        subscribed.wait()
                return lines

        def one_edit() -> list[str]:
            with client.stream("GET", f"/edit/{queued['id']}/events") as response:
                lines = []
                for line in response.iter_lines():
                    lines.append(line)
                    if line == "event: queued":
                        subscribed.wait()
                return lines

        def waited() -> httpx.Response:
            return client.post("/edit", params={"media": media, "rotate": "90", "wait": "60"})

        streams = [in_thread(whole_queue), in_thread(one_edit)]
        subscribed.wait()  # both streams have told their first state
        waiting = in_thread(waited)
        until_made(client, 2)

        assert running.stop(STOP_SECONDS), "the stop waited for an open response"

        for thread, _ in [*streams, waiting]:
            thread.join(WAIT_SECONDS)
        (queue_lines,), (edit_lines,) = (outcome for _, outcome in streams)
        assert "event: stats" in queue_lines  # ended cleanly: iter_lines raised nothing
        assert "event: queued" in edit_lines
        (answered,) = waiting[1]
        assert answered.status_code == 202  # the edit as it is: still queued
        assert answered.json()["status"] == "queued"


def until_made(client: httpx.Client, edits: int) -> None:
    """Until `edits` edits are queued (the `?wait=` request then waits on its subscription)."""
    for _ in range(int(WAIT_SECONDS / 0.05)):
        counts = {row["status"]: row["count"] for row in client.get("/edit/stats").json()}
        if counts.get("queued", 0) >= edits:
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"fewer than {edits} edits were made")


@pytest.mark.parametrize("keepalive", [1, 6])
def test_an_idle_connection_is_kept_alive_as_long_as_the_setting_says(
    database_url: str, tmp_path: Path, keepalive: int
) -> None:
    idle = 3.0  # between the two, far from each (a loaded machine is late)
    settings = quick_settings(database_url, tmp_path, keepalive_seconds=keepalive)
    with served(settings) as running, socket.create_connection(("127.0.0.1", running.port)) as conn:
        conn.settimeout(WAIT_SECONDS)
        request = f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\n\r\n".encode()
        conn.sendall(request)
        assert whole_response(conn).startswith(b"HTTP/1.1 200")
        if keepalive < idle:  # closed by the server after its keep-alive, well within idle
            answered = time.monotonic()
            assert conn.recv(65536) == b""
            assert keepalive * 0.9 <= time.monotonic() - answered < idle
        else:
            time.sleep(idle)
            conn.sendall(request)
            assert whole_response(conn).startswith(b"HTTP/1.1 200")


def whole_response(conn: socket.socket) -> bytes:
    """One response, its head and its body, however many reads they come in."""
    received = b""
    while b"\r\n\r\n" not in received:
        received += conn.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    declared = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
    assert declared is not None
    length = int(declared.group(1))
    while len(body) < length:
        body += conn.recv(65536)
    return received
