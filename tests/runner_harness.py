"""A Runner on its own thread and event loop, so that sync tests can drive and watch it."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from runner.engine.sandbox import Sandbox
from runner.process.execute import EditExecutor, Execute
from runner.process.worker import Runner
from service.domain.library import MediaLibrary
from service.kernel.db import Database
from service.kernel.settings import Settings
from service.kernel.storage.factory import open_storage

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 30.0
MEMORY_LIMIT_BYTES = 4 * 1024**3


@dataclass
class RunningRunner:
    runner: Runner
    loop: asyncio.AbstractEventLoop

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.runner.stop)


@contextmanager
def running_runner(
    settings: Settings, *, execute: Execute | None = None, concurrency: int | None = None
) -> Iterator[RunningRunner]:
    """A runner with the real executor, or with `execute` standing in for it."""
    started = threading.Event()
    handle: list[RunningRunner] = []
    failure: list[BaseException] = []

    async def main() -> None:
        async with Database.connect(settings.require_database_url()) as database:
            sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)  # one per event loop
            storage = await open_storage(settings)
            library = MediaLibrary(
                database=database, storage=storage, sandbox=sandbox, settings=settings
            )
            runner = Runner(
                database=database,
                storage=storage,
                settings=settings,
                execute=execute
                or EditExecutor(library=library, sandbox=sandbox, settings=settings),
                concurrency=concurrency,
            )
            handle.append(RunningRunner(runner, asyncio.get_running_loop()))
            started.set()
            await runner.run()

    def thread_body() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:
            failure.append(exc)
            started.set()

    thread = threading.Thread(target=thread_body, name="runner", daemon=True)
    thread.start()
    started.wait(START_TIMEOUT_SECONDS)
    if failure:
        raise failure[0]
    try:
        yield handle[0]
    finally:
        handle[0].stop()
        thread.join(STOP_TIMEOUT_SECONDS)
        assert not thread.is_alive(), "the runner did not stop"
        if failure:
            raise failure[0]
