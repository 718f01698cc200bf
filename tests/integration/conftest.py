"""Fixtures the API tests share. Each module gives its own `settings` fixture (what its app
and runner run with); these build on it."""

from collections.abc import Iterator

import pytest

from service.kernel.settings import Settings
from tests.api import Api, running_api
from tests.queue import Conn, disable_backoff
from tests.runner_harness import running_runner
from tests.streams import Stream


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    """The app in-process, at its public URL."""
    with running_api(settings) as running:
        yield running


@pytest.fixture
def runner(settings: Settings, conn: Conn) -> Iterator[None]:
    """One runner beside the app, retrying without back-off."""
    disable_backoff(conn)
    with running_runner(settings):
        yield


@pytest.fixture
def streams(api: Api) -> Iterator[list[Stream]]:
    """The live streams a test opens (tests.streams.Stream), closed after it."""
    opened: list[Stream] = []
    yield opened
    for stream in opened:
        stream.close()
