"""POST /bucket/import: an import job queued after the request and its URL are checked. The
runner fetches, under the same policy, every connection checked again (redirects too)."""

import asyncio
import socket
from collections.abc import Mapping
from urllib.parse import urlsplit

from runner.engine.imports.guard import ImportPolicy
from runner.engine.imports.request import ImportRequest
from service.domain.admission import admit
from service.domain.edit_controls import parse_priority
from service.kernel.db import Database, Row
from service.kernel.errors import ImportRefused, InvalidParameter
from service.kernel.excerpt import without_credentials
from service.kernel.metrics import IMPORT_KIND, ServiceMetrics
from service.kernel.settings import Settings

URL_ACCEPTED = "a public http(s) URL of a web page or a media file"
DEFAULT_PORTS = {"http": 80, "https": 443}


class Imports:
    def __init__(self, *, database: Database, settings: Settings, metrics: ServiceMetrics) -> None:
        self._database = database
        self._settings = settings
        self._metrics = metrics
        self._policy = ImportPolicy.from_settings(settings)

    async def create(self, params: Mapping[str, str]) -> Row:
        request = ImportRequest.from_query(params)
        await self._check(request.url)
        await admit(self._database, max_queued=self._settings.max_queued)
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
            for address in await _resolve(url, host):
                self._policy.check_address(host, address)
        except ImportRefused as exc:
            raise InvalidParameter(
                "url", without_credentials(url), str(exc), accepted=URL_ACCEPTED
            ) from None


async def _resolve(url: str, host: str) -> list[str]:
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS[parts.scheme.lower()]
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidParameter(
            "url", url, f"{host} cannot be resolved ({exc.strerror})", accepted=URL_ACCEPTED
        ) from None
    return [str(result[4][0]) for result in found]
