"""Both long-lived processes freeze their start-up heap once ready (service.kernel.heap), so a
full garbage collection never walks it again in the middle of a request or an edit."""

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.process import main as runner_main
from runner.process.worker import Runner
from service.kernel.heap import settle_heap
from tests.api import quick_settings, running_api


class Cycle:
    itself: object


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_settling_freezes_what_is_alive_and_collects_the_rest() -> None:
    kept = [object() for _ in range(1000)]
    cycle = Cycle()
    cycle.itself = cycle  # garbage only the collector frees
    gone = weakref.ref(cycle)
    del cycle
    settle_heap()
    assert gc.get_freeze_count() >= len(kept)
    assert gone() is None  # collected, not frozen


def test_the_service_settles_its_heap_once_started(database_url: str, tmp_path: Path) -> None:
    assert gc.get_freeze_count() == 0
    with running_api(quick_settings(database_url, tmp_path / "data")):
        assert gc.get_freeze_count() > 10_000  # modules, routes, the OpenAPI document


def test_the_runner_settles_its_heap_before_its_first_claim(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_at_run: list[int] = []

    async def run(self: Runner) -> None:
        frozen_at_run.append(gc.get_freeze_count())

    monkeypatch.setattr(Runner, "run", run)
    asyncio.run(runner_main.run_runner(quick_settings(database_url, tmp_path / "data")))
    assert frozen_at_run and frozen_at_run[0] > 10_000
