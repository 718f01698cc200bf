"""The service under uvicorn, with a shutdown that no open response holds up.

At shutdown uvicorn stops taking connections, then waits for every response in flight to
end. An event stream ends only when its edit finishes, and a `?wait=` or a result address
waits up to its bound, so one open page would hold a stop for as long as it stays open (and
`editroom run` would kill the API after its grace). Here the service's waits are told to
end first (EditEvents.end_waits): streams end cleanly (an EventSource reconnects, to
whichever service answers then) and waits answer the edit as it is.

A start-up that one of our own errors stops (PostgreSQL unreachable, the store refusing us)
ends `run()` with that error, for the command to say in one line (service/cli.py), instead of
uvicorn's log of the traceback and its exit status 3. Any other failure keeps its traceback.

A request's head is held to a size as it arrives (service/http/request_head.py)."""

import logging
import socket
from collections.abc import Sequence
from typing import Any

import uvicorn
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from service.http.request_head import BoundedHead
from service.kernel.addresses import listening_on, url_to_open
from service.kernel.errors import EditroomError
from service.kernel.settings import Settings

log = logging.getLogger(__name__)


class StartupRefusals:
    """The app as uvicorn runs it: keeps the EditroomError that stopped the app's start-up,
    and reports that start-up's failure to uvicorn without the traceback's text."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.error: EditroomError | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        failed: list[Message] = []  # sent once the exception that follows says what it was

        async def holding(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                failed.append(message)
            else:
                await send(message)

        try:
            await self.app(scope, receive, holding)
        except EditroomError as exc:
            if failed:
                self.error = exc
                await send({"type": "lifespan.startup.failed"})  # no message: nothing logged
            raise
        except BaseException:
            for message in failed:
                await send(message)
            raise


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: StartupRefusals) -> None:
        super().__init__(config)
        self.app = app

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until stopped; raises the EditroomError that stopped the start-up, if any."""
        try:
            super().run(sockets)
        except SystemExit:  # uvicorn's exit when the app's start-up failed
            if self.app.error is not None:
                raise self.app.error from None
            raise

    def _log_started_message(self, listeners: Sequence[socket.SocketType]) -> None:
        """Instead of uvicorn's "Uvicorn running on http://HOST:PORT", which gives a URL no
        browser opens when HOST is 0.0.0.0 or ::, the URL to open and where it listens."""
        address = listeners[0].getsockname()
        if not isinstance(address, tuple):  # a Unix socket: uvicorn's words are right
            super()._log_started_message(listeners)
            return
        host, port = address[0], address[1]
        url = self.app.app.state.settings.public_url or url_to_open(host, port)
        log.info("API serving", extra={"url": url, "listening": listening_on(host, port)})

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        end_waits(self.app.app)
        await super().shutdown(sockets)


def server(app: FastAPI, **options: Any) -> Server:
    """A server for `app` as its settings say (`options`: more of uvicorn.Config's)."""
    settings: Settings = app.state.settings
    refusals = StartupRefusals(app)
    config = uvicorn.Config(
        refusals, host=settings.host, port=settings.port, log_config=None,
        timeout_keep_alive=settings.keepalive_seconds, http=BoundedHead, **options,
    )  # fmt: skip
    return Server(config, refusals)


def end_waits(app: FastAPI) -> None:
    """Every wait of the app's ends now with what it has (nothing to do before it started)."""
    events = getattr(app.state, "events", None)
    if events is not None:
        events.end_waits()
