"""The service under its own uvicorn server (service/http/server.py), in a thread, on a real
socket: for what the in-process TestClient cannot show (sockets that stall, a shutdown)."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from service.http.app import create_app
from service.http.server import Server
from service.http.server import server as serving
from service.kernel.settings import Settings

START_SECONDS = 20.0


@dataclass
class Served:
    port: int
    host: str  # the Host the service answers (its public URL's)
    server: Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, seconds: float) -> bool:
        """Asks the server to stop, as a SIGTERM does; True when it stopped within `seconds`."""
        self.server.should_exit = True
        self.thread.join(seconds)
        return not self.thread.is_alive()


@contextmanager
def served(settings: Settings, *, send_buffer: int | None = None) -> Iterator[Served]:
    """`send_buffer`: the bytes of each accepted connection's send buffer (small: a client
    that stops reading soon holds the server's writes)."""
    listening = socket.socket()
    if send_buffer is not None:  # accepted sockets inherit it
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listening.bind(("127.0.0.1", 0))
    server = serving(create_app(settings), lifespan="on")
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    running = Served(listening.getsockname()[1], urlsplit(settings.base_url).netloc, server, thread)
    try:
        yield running
    finally:
        running.stop(START_SECONDS)
        listening.close()
