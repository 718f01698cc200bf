"""`editroom runner`: one runner process until SIGTERM or SIGINT."""

import asyncio
import logging
import signal

from runner.engine.sandbox import Sandbox
from runner.process.execute import EditExecutor
from runner.process.metrics import RunnerMetrics
from runner.process.worker import Runner
from service.domain.library import MediaLibrary
from service.kernel.db import Database
from service.kernel.errors import StorageError
from service.kernel.heap import settle_heap
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage
from service.kernel.storage.factory import open_storage

log = logging.getLogger(__name__)

STORAGE_WAIT_FIRST_SECONDS = 0.25
STORAGE_WAIT_MAX_SECONDS = 5.0


async def run_runner(settings: Settings, *, concurrency: int | None = None) -> None:
    url = settings.require_database_url()
    # A claim, a heartbeat or an output's media row lost in a crash is simply redone;
    # completions and failures make themselves durable (editroom.complete_edits, fail_edit).
    async with Database.connect(
        url,
        max_size=settings.db_pool_size,
        durable_commits=False,
        getconn_timeout=settings.db_pool_timeout_seconds,
        open_timeout=settings.db_pool_open_timeout_seconds,
    ) as database:
        storage = await _reachable_storage(settings)
        library = MediaLibrary(
            database=database,
            storage=storage,
            sandbox=Sandbox.from_settings(settings),
            settings=settings,
        )
        executor = EditExecutor(library=library, sandbox=library.sandbox, settings=settings)
        metrics = RunnerMetrics()
        runner = Runner(
            database=database,
            storage=storage,
            settings=settings,
            execute=executor,
            concurrency=concurrency,
            metrics=metrics,
        )
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, runner.stop)
        warming = asyncio.create_task(library.sandbox.warm())  # while the first claim waits
        settle_heap()  # start-up's objects out of the garbage collector's walks
        try:
            with metrics.serving(
                host=settings.runner_metrics_host, port=settings.runner_metrics_port
            ):
                await runner.run()
        finally:
            warming.cancel()
            await library.sandbox.close()
            executor.close()


async def _reachable_storage(settings: Settings) -> Storage:
    """The storage, once it answers: a runner started during a storage outage waits it out
    (as it rides one out later) instead of exiting. SIGTERM still stops it meanwhile."""
    delay = STORAGE_WAIT_FIRST_SECONDS
    while True:
        try:
            return await open_storage(settings)
        except StorageError as exc:
            log.warning("waiting for storage", extra={"error": str(exc), "retry_in": delay})
            await asyncio.sleep(delay)
            delay = min(delay * 2, STORAGE_WAIT_MAX_SECONDS)
