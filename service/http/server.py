"""The service under uvicorn, with a shutdown that no open response holds up.

At shutdown uvicorn stops taking connections, then waits for every response in flight to
end. An event stream ends only when its edit finishes, and a `?wait=` or a result address
waits up to its bound, so one open page would hold a stop for as long as it stays open (and
`editroom run` would kill the API after its grace). Here the service's waits are told to
end first (EditEvents.end_waits): streams end cleanly (an EventSource reconnects, to
whichever service answers then) and waits answer the edit as it is."""

import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.kernel.settings import Settings


class Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.app
        if isinstance(app, FastAPI):
            end_waits(app)
        await super().shutdown(sockets)


def server(app: FastAPI, **options: Any) -> Server:
    """A server for `app` as its settings say (`options`: more of uvicorn.Config's)."""
    settings: Settings = app.state.settings
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_config=None,
        timeout_keep_alive=settings.keepalive_seconds, **options,
    )  # fmt: skip
    return Server(config)


def end_waits(app: FastAPI) -> None:
    """Every wait of the app's ends now with what it has (nothing to do before it started)."""
    events = getattr(app.state, "events", None)
    if events is not None:
        events.end_waits()
