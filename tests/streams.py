"""Reading GET /events as a browser's EventSource does, in a thread."""

import json
import queue
import threading
from typing import Any

from tests.api import Api

Event = tuple[str, dict[str, Any]]
WAIT_SECONDS = 15.0


class Stream:
    """A live /events stream read in a thread; `next` waits for the next matching event."""

    def __init__(self, api: Api, params: dict[str, str], streams: list["Stream"]) -> None:
        streams.append(self)
        self.events: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(api, params), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def _read(self, api: Api, params: dict[str, str]) -> None:
        try:
            self._follow(api, params)
        except Exception:
            if not self._stop.is_set():  # the app going away at the end of a test is fine
                raise

    def _follow(self, api: Api, params: dict[str, str]) -> None:
        with api.client.stream("GET", "/events", params=params) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    self.events.put((name, json.loads(line.removeprefix("data: "))))
                if self._stop.is_set():
                    return

    def next(self, kind: str, where: Any = lambda body: True) -> dict[str, Any]:
        while True:
            name, body = self.events.get(timeout=WAIT_SECONDS)
            if name == kind and where(body):
                return body

    def kinds_seen(self) -> list[Event]:
        seen = []
        while not self.events.empty():
            seen.append(self.events.get_nowait())
        return seen
