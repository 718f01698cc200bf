"""Small HTTP servers the import tests start on loopback: well-behaved, lying, slow."""

import importlib
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Route = Callable[[BaseHTTPRequestHandler], None]


def handlers_of(library: str) -> dict[str, Any]:
    """yt-dlp's request handlers, fetching through `library`: "requests", or "urllib" as when
    requests is not installed."""
    registered = importlib.import_module("yt_dlp.YoutubeDL")._REQUEST_HANDLERS
    return {key: rh for key, rh in registered.items() if library != "urllib" or key != "Requests"}


def serve_bytes(content: bytes, content_type: str, *, pause_seconds: float = 0.0) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        for start in range(0, len(content), 64 * 1024):
            handler.wfile.write(content[start : start + 64 * 1024])
            time.sleep(pause_seconds)

    return route


def compressed(content: bytes, content_type: str, *, encoding: str = "gzip") -> Route:
    """`content` sent compressed (Content-Encoding: gzip or deflate), whatever was asked for."""
    wbits = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}[encoding]
    squeezer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    body = squeezer.compress(content) + squeezer.flush()
    return _sent_compressed(body, content_type, encoding=encoding)


def compressed_page(decoded_bytes: int) -> Route:
    """A gzip web page (`<!DOCTYPE html>`, then spaces) decoding to `decoded_bytes`, about
    1,000 times what is sent; compressed piece by piece, never whole in memory."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    pieces = [squeezer.compress(b"<!DOCTYPE html><html><head><title>page</title></head><body>")]
    padding = b" " * (1024 * 1024)
    for _ in range(decoded_bytes // len(padding)):
        pieces.append(squeezer.compress(padding))
    body = b"".join(pieces) + squeezer.flush()
    return _sent_compressed(body, "text/html; charset=utf-8", encoding="gzip")


def _sent_compressed(body: bytes, content_type: str, *, encoding: str) -> Route:
    """A route answering `body`, already compressed, as `content_type` in `encoding`."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Encoding", encoding)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        with suppress(BrokenPipeError, ConnectionResetError):  # a bomb's client stops reading
            handler.wfile.write(body)

    return route


def malformed(kind: str) -> Route:
    """An answer that is not HTTP as http.client reads it, or ("cut-status-line") a status
    line cut short by the connection's clean close."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        if kind in ("not-http", "cut-status-line"):  # another protocol; a server that crashed
            said = b"SSH-2.0-OpenSSH_9.6\r\n" if kind == "not-http" else b"HTTP/1.1 5"
            handler.wfile.write(said)
            handler.close_connection = True
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        if kind == "long-header":
            handler.send_header("X-Padding", "a" * 70_000)
        else:  # "many-headers"
            for number in range(150):
                handler.send_header(f"X-Header-{number}", "a")
        handler.end_headers()

    return route


def redirect_to(location: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def lying_about_length(total_bytes: int) -> Route:
    """Says 1000 bytes, then streams `total_bytes` (chunked, which takes precedence)."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", "1000")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"\0" * 65536
        try:
            for _ in range(total_bytes // len(chunk)):
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the test wants

    return route


def huge_page(total_bytes: int, *, sent: list[int]) -> Route:
    """An honest but enormous HTML page, made as it is sent (never whole in memory); what was
    written before the client hung up is added to `sent`."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(total_bytes))
        handler.end_headers()
        chunk = b"<p>" + b"words " * 10_000 + b"</p>\n"
        written = 0
        try:
            while written < total_bytes:
                piece = chunk[: total_bytes - written]
                handler.wfile.write(piece)
                written += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the test wants
        finally:
            sent.append(written)

    return route


def trickling(*, declared_bytes: int, seconds_per_byte: float, stop: threading.Event) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(declared_bytes))
        handler.end_headers()
        try:
            while not stop.is_set():
                handler.wfile.write(b"\0")
                handler.wfile.flush()
                time.sleep(seconds_per_byte)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return route


SHUTDOWN_POLL_SECONDS = 0.02


@contextmanager
def web_server(routes: dict[str, Route]) -> Iterator[str]:
    """A threaded server on 127.0.0.1; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                self.send_error(404)
                return
            route(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    # shutdown() waits for the loop to look again: at the default 0.5 s, half a second a test.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
