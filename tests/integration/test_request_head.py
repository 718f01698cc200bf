"""A request's head held to a size and a time as it arrives (service/http/request_head.py):
uvicorn's parser took a header of any length, joining its pieces at a cost growing with the
square of its length, on the event loop (a 256 MiB header: a minute of CPU, every request
held), answered a URL over 65,535 bytes with a bare 400 once it had all of it, and held a
connection that sent nothing, or half a head, for ever."""

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.domain import live
from service.http import request_head
from service.http.request_head import MAX_HEAD_BYTES, MAX_URL_BYTES
from service.kernel.settings import Settings
from tests.api import quick_settings
from tests.integration.test_server import whole_response
from tests.served import Served, served

PIECE = b"a" * 65_536
KEEPALIVE_SECONDS = 1
LATE_SECONDS = 10.0  # far over the bounds these tests set: an answer by then is a timely one


@pytest.fixture
def running(database_url: str, tmp_path: Path) -> Iterator[Served]:
    settings: Settings = quick_settings(database_url, tmp_path, keepalive_seconds=KEEPALIVE_SECONDS)
    with served(settings) as running:
        yield running


def sent(running: Served, *parts: bytes) -> tuple[int, bytes]:
    """Sends the parts until the server answers or all are sent; the answer's status and body."""
    with socket.create_connection(("127.0.0.1", running.port), timeout=20) as conn:
        try:
            for part in parts:
                conn.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused mid-way: the answer is waiting
        answer = whole_response(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def header_of(length: int) -> list[bytes]:
    return [PIECE] * (length // len(PIECE)) + [PIECE[: length % len(PIECE)]]


def test_a_head_over_the_limit_is_refused_naming_it(running: Served) -> None:
    start = f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\nX-Big: ".encode()
    status, body = sent(running, start, *header_of(MAX_HEAD_BYTES), b"\r\n\r\n")
    assert status == 431
    assert json.loads(body) == {
        "detail": "the request's line and headers are over 1,048,576 bytes",
        "error": "RequestHeadTooLarge",
    }


def test_a_client_still_sending_its_head_reads_the_431(running: Served) -> None:
    """A client that reads only once it has sent its request (as urllib does) read no answer:
    the service answered at the limit and closed with the head still arriving, and the kernel
    reset the connection (ECONNRESET), the 431 with it."""
    start = f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\nX-Big: ".encode()
    with socket.create_connection(("127.0.0.1", running.port), timeout=20) as conn:
        conn.sendall(start + b"a" * (8 * MAX_HEAD_BYTES))
        answer = until_closed(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 ")
    assert json.loads(body)["error"] == "RequestHeadTooLarge"


def test_a_refused_client_is_read_for_a_bounded_time_only(
    running: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the answer the service stops writing and discards what comes, for a while: then
    it closes, and what the client sends is refused (reset)."""
    monkeypatch.setattr(request_head, "LINGER_SECONDS", 1.0)
    start = f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\nX-Big: ".encode()
    with socket.create_connection(("127.0.0.1", running.port), timeout=LATE_SECONDS) as conn:
        conn.sendall(start + b"a" * (2 * MAX_HEAD_BYTES))
        assert whole_response(conn).startswith(b"HTTP/1.1 431 ")
        assert conn.recv(100) == b""  # no more from the service
        conn.sendall(PIECE)  # still read
        lingered = time.monotonic()
        assert sending_is_refused(conn, within=LATE_SECONDS)
        assert time.monotonic() - lingered < LATE_SECONDS / 2  # closed after its linger


def test_a_head_over_the_limit_sent_while_an_answer_streams_closes_the_connection(
    running: Served, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A head pipelined behind a request still being answered (an event stream, a ?wait=
    edit) ends the connection without a word: a 431 written then would land inside the other
    answer, and the half close of a lingering one made that answer's next write raise (an
    "Exception in ASGI application" traceback logged for every such connection)."""
    monkeypatch.setattr(live, "KEEPALIVE_SECONDS", 0.2)  # the stream writes again soon
    with socket.create_connection(("127.0.0.1", running.port), timeout=LATE_SECONDS) as conn:
        conn.sendall(f"GET /events HTTP/1.1\r\nHost: {running.host}\r\n\r\n".encode())
        streamed = conn.recv(65536)
        while b"event: stats" not in streamed:
            streamed += conn.recv(65536)
        start = f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\nX-Big: ".encode()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(start + b"a" * (2 * MAX_HEAD_BYTES))
        with contextlib.suppress(ConnectionResetError):
            streamed += until_closed(conn)
        time.sleep(1.0)  # the connection kept open from here while the stream would write
    assert b"HTTP/1.1 431" not in streamed
    assert "Exception in ASGI application" not in caplog.text


def sending_is_refused(conn: socket.socket, *, within: float) -> bool:
    """Whether the peer closes within `within` seconds: a send is then answered with a
    reset, which the next raises."""
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            conn.sendall(PIECE)
            time.sleep(0.05)
    except (BrokenPipeError, ConnectionResetError):
        return True
    return False


def until_closed(conn: socket.socket) -> bytes:
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def test_a_url_over_the_limit_is_refused_naming_it(running: Served) -> None:
    url = b"/healthz?x=" + b"a" * MAX_URL_BYTES
    status, body = sent(
        running, b"GET " + url + f" HTTP/1.1\r\nHost: {running.host}\r\n\r\n".encode()
    )
    assert status == 414
    assert (
        json.loads(body)["detail"] == "the URL is over 65,535 bytes, the longest this server reads"
    )


def test_heads_within_the_limit_are_read_one_request_after_another(running: Served) -> None:
    """The count starts again with each request of a connection (the next's head is counted
    too), and no body counts."""
    big = f"X-Big: {'a' * (MAX_HEAD_BYTES // 2)}\r\n"
    body = b"{" + b" " * 300_000 + b"}"  # read with its head in one piece, mostly
    request = (
        f"POST /workflows HTTP/1.1\r\nHost: {running.host}\r\n{big}Content-Type: application/json"
        f"\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", running.port), timeout=20) as conn:
        for _ in range(3):
            conn.sendall(request)
            assert whole_response(conn).startswith(b"HTTP/1.1 422")  # the workflow's fields
        conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\n{big}{big}".encode())
        assert whole_response(conn).startswith(b"HTTP/1.1 431")  # counted again


def test_a_connection_that_sends_nothing_is_closed_after_the_keepalive(running: Served) -> None:
    with socket.create_connection(("127.0.0.1", running.port), timeout=LATE_SECONDS) as conn:
        started = time.monotonic()
        assert conn.recv(100) == b""
        assert time.monotonic() - started >= KEEPALIVE_SECONDS * 0.9


def test_a_head_that_stops_arriving_is_answered_408(
    running: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_head, "HEAD_SECONDS", 1.5)  # over the keep-alive: not it
    with socket.create_connection(("127.0.0.1", running.port), timeout=LATE_SECONDS) as conn:
        conn.sendall(f"GET /healthz HTTP/1.1\r\nHost: {running.host}\r\n".encode())
        answer = whole_response(conn)
        assert conn.recv(100) == b""  # closed
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert json.loads(body) == {
        "detail": "the request's line and headers did not all arrive within 1.5 s",
        "error": "RequestHeadTimeout",
    }
