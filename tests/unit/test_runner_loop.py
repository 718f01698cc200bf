"""`editroom runner` runs its loop on uvloop: the turns of the loop between a NOTIFY and the claim
it sets off are on an idle runner's wake-up path."""

import asyncio

import pytest
import uvloop

from runner.process import main
from service import cli
from service.kernel.settings import Settings


def test_the_runner_command_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    loops: list[asyncio.AbstractEventLoop] = []

    async def run_runner(settings: Settings, *, concurrency: int | None = None) -> None:
        loops.append(asyncio.get_running_loop())

    monkeypatch.setattr(main, "run_runner", run_runner)
    assert cli.main(["runner", "--concurrency", "2"]) == 0
    assert len(loops) == 1
    assert isinstance(loops[0], uvloop.Loop)
