"""POST /bucket/import: an import job queued after the request and its URL are checked. The
runner fetches, under the same policy, every connection checked again (redirects too)."""

import asyncio
import contextlib
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from runner.engine.imports.guard import ImportPolicy
from runner.engine.imports.request import ImportRequest
from service.domain.admission import admit, admit_import
from service.domain.edit_controls import parse_priority
from service.kernel.db import Database, Row
from service.kernel.errors import ImportRefused, InvalidParameter, LookupsBusy
from service.kernel.excerpt import without_credentials
from service.kernel.metrics import IMPORT_KIND, ServiceMetrics
from service.kernel.settings import Settings
from service.kernel.slots import Slots

URL_ACCEPTED = "a public http(s) URL of a web page or a media file"
DEFAULT_PORTS = {"http": 80, "https": 443}
# A host's name is looked up in a thread (getaddrinfo blocks), and a name server may take its
# time: glibc waits 5 s a try. So lookups have threads of their own, a few, each one taken
# until its lookup ends (a lookup cannot be stopped), not the event loop's default ones,
# which reading and writing media use; one more at once is refused, and an answer is awaited
# for a bounded time.
LOOKUP_THREADS = 4
LOOKUP_SECONDS = 10.0


class Imports:
    def __init__(self, *, database: Database, settings: Settings, metrics: ServiceMetrics) -> None:
        self._database = database
        self._settings = settings
        self._metrics = metrics
        self._policy = ImportPolicy.from_settings(settings)
        self._lookups = HostLookups()

    def close(self) -> None:
        self._lookups.close()

    async def create(self, params: Mapping[str, str]) -> Row:
        request = ImportRequest.from_query(params)
        await self._check(request.url)
        await admit(self._database, max_queued=self._settings.max_queued)
        await admit_import(self._database, max_queued_imports=self._settings.max_queued_imports)
        row = await self._database.fetch_one(
            "enqueue_import",
            request=request.model_dump_json(),
            max_trials=self._settings.edit_max_trials,
            priority=parse_priority(params.get("priority")),
        )
        assert row is not None
        self._metrics.enqueued(IMPORT_KIND)
        return row

    async def _check(self, url: str) -> None:
        """The URL and every address its host resolves to, now; the runner checks again."""
        try:
            host = self._policy.check_url(url)
            for address in await self._lookups.addresses(url, host):
                self._policy.check_address(host, address)
        except ImportRefused as exc:
            raise _url_refused(url, str(exc)) from None


class HostLookups:
    """Import hosts' names looked up, at most LOOKUP_THREADS at once, each for at most
    LOOKUP_SECONDS."""

    def __init__(self) -> None:
        self._threads = ThreadPoolExecutor(LOOKUP_THREADS, thread_name_prefix="import-lookup")
        self._slots = Slots(LOOKUP_THREADS, refusal=_lookups_busy)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    async def addresses(self, url: str, host: str) -> list[str]:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
        self._slots.take()
        try:
            lookup = self._threads.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        except RuntimeError:  # shutting down
            self._slots.give_back()
            raise
        lookup.add_done_callback(_on_loop(self._slots.give_back))
        try:
            async with asyncio.timeout(LOOKUP_SECONDS):
                found = await asyncio.wrap_future(lookup)
        except TimeoutError:
            raise _url_refused(
                url, f"{host} did not resolve within {LOOKUP_SECONDS:.0f} s"
            ) from None
        except socket.gaierror as exc:
            raise _url_refused(url, f"{host} cannot be resolved ({exc.strerror})") from None
        return [str(result[4][0]) for result in found]


def _on_loop(callback: Callable[[], None]) -> Callable[["Future[Any]"], None]:
    """`callback` run on the running event loop when a thread's future ends."""
    loop = asyncio.get_running_loop()

    def done(_: "Future[Any]") -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing is counted
            loop.call_soon_threadsafe(callback)

    return done


def _lookups_busy(limit: int) -> LookupsBusy:
    return LookupsBusy(
        f"{limit} host names of imports are being looked up already, the most at once; try "
        f"again in {LookupsBusy.retry_after_seconds} s"
    )


def _url_refused(url: str, problem: str) -> InvalidParameter:
    return InvalidParameter("url", without_credentials(url), problem, accepted=URL_ACCEPTED)
