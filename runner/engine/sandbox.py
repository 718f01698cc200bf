"""Untrusted media is handled in child processes: a decoder that crashes, hangs or eats memory
takes down only its child, never the API or the runner.

Children fork from a forkserver that has already imported everything they run
(runner.engine.preload), so starting one costs milliseconds; and one spare child is kept
started ahead, waiting for its job, so an edit does not wait even for those. Every child runs
one job and exits: nothing one job leaves in memory reaches the next. Each child gets a memory
limit; the parent kills it at its time limit or when the awaiting task is cancelled (an edit
cancelled mid-run stops at once).

What a job raises is classified where it happens, in the child, into the error tree
(service/kernel/errors.py), whose classes say whether a retry may help: an EditroomError
crosses back as itself; the memory limit and any other exception of ours on this input would
happen again, so they come back as final failures saying what they were. Only our own
environment's trouble stays retryable: an OSError whose errno is I/O trouble (a full disk, an
I/O error: io_trouble), or a dropped connection of our own (an import's). What FFmpeg says,
whatever its errno, is about the file: a protocol or a file it refuses to open on the file's
behalf (an ffconcat script naming /etc/passwd) is the file's doing, never the disk's. No
message carries a server path."""

import asyncio
import contextlib
import ctypes
import multiprocessing
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol, TypeVar

import av

from service.kernel.errors import (
    EditroomError,
    SandboxCrashed,
    SandboxInternalError,
    SandboxIOError,
    SandboxOutOfMemory,
    SandboxTimeout,
    described,
    io_trouble,
)

T = TypeVar("T")
Detail = dict[str, Any] | None


class Report(Protocol):
    """Progress: the fraction done (None when unknown), and what else there is to say about
    it (bytes so far and in all, for an import)."""

    def __call__(self, fraction: float | None, detail: Detail = None) -> None: ...


# Everything children need, imported once by the forkserver (see runner.engine.preload).
PRELOAD = ["runner.engine.preload"]
REFILL_DELAY_SECONDS = 0.02
PROGRESS_STEP = 0.01
PROGRESS_INTERVAL_SECONDS = 0.25
MAX_ERROR_CHARS = 500  # of an unexpected exception's text carried back to the edit's error


@dataclass(slots=True)
class _Child:
    """A started child waiting for its one job on `jobs`; it answers on `answers`."""

    process: Any  # multiprocessing's forkserver Process
    jobs: Connection
    answers: Connection

    def usable(self) -> bool:
        return bool(self.process.is_alive())

    async def stop(self) -> None:
        """Kill it if it still runs; returns once it is gone."""
        await asyncio.to_thread(self.reap)

    def reap(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.jobs.close()
        self.answers.close()
        self.process.close()


class Sandbox:
    """Runs jobs in children, keeping one spare child ready. Its tasks and spare belong to the
    event loop that first runs a job: use one Sandbox per loop."""

    def __init__(self, *, memory_limit_bytes: int | None) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._memory_limit_bytes = memory_limit_bytes
        self._spare: _Child | None = None
        self._refilling: asyncio.Task[None] | None = None

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        timeout_seconds: float,
        timed_out: str | None = None,
        on_progress: Report | None = None,
    ) -> T:
        """function(*args, progress=...) in a child; its result, or its EditroomError.
        `timed_out` is what the SandboxTimeout says when it runs past timeout_seconds."""
        child = await self._take_child()
        answered = False
        try:
            async with asyncio.timeout(timeout_seconds):
                with contextlib.suppress(BrokenPipeError):  # it died: _collect says how
                    child.jobs.send((function, args))
                result: T = await _collect(child.answers, child.process, on_progress)
                answered = True
                return result
        except TimeoutError:
            message = timed_out or f"stopped after {timeout_seconds:.0f} s, its time limit"
            raise SandboxTimeout(message) from None
        finally:
            if answered:
                # Its answer is in; the caller need not wait while its memory is torn down.
                asyncio.get_running_loop().run_in_executor(None, child.reap)
            else:
                await child.stop()
            self._refill_soon()

    def _refill_soon(self) -> None:
        """Start the next job's child in a thread (starting one blocks for milliseconds)."""
        if self._spare is None and (self._refilling is None or self._refilling.done()):
            self._refilling = asyncio.get_running_loop().create_task(self._refill())

    async def _refill(self) -> None:
        # Let the caller finish its edit (store, complete) before a fork competes for the CPU.
        await asyncio.sleep(REFILL_DELAY_SECONDS)
        child = await asyncio.to_thread(self._start_child)
        if self._spare is None:
            self._spare = child
        else:
            await child.stop()

    async def _take_child(self) -> _Child:
        if self._refilling is not None and not self._refilling.done():
            await asyncio.shield(self._refilling)  # the spare is nearly there
        spare, self._spare = self._spare, None
        if spare is not None and spare.usable():
            return spare
        if spare is not None:
            await spare.stop()
        # Off the event loop: the first start also starts the forkserver, which imports every
        # engine (seconds); heartbeats and requests must not wait behind it.
        return await asyncio.to_thread(self._start_child)

    def _start_child(self) -> _Child:
        answers, answer_end = self._context.Pipe(duplex=False)
        job_end, jobs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main, args=(job_end, answer_end, self._memory_limit_bytes), daemon=True
        )
        process.start()
        answer_end.close()
        job_end.close()
        return _Child(process, jobs, answers)


async def _collect(receiver: Connection, child: Any, on_progress: Report | None) -> Any:
    while True:
        try:
            await _readable(receiver)
            message = receiver.recv()  # written whole by the child: a short read
        except EOFError:
            await asyncio.to_thread(child.join)
            raise SandboxCrashed(_death(child.exitcode)) from None
        match message:
            case ("progress", fraction, detail):
                if on_progress is not None:
                    on_progress(fraction, detail)
            case ("result", value):
                return value
            case ("error", error_class, text):
                error = error_class.__new__(error_class)
                Exception.__init__(error, text)
                raise error


async def _readable(receiver: Connection) -> None:
    """Wait on the event loop (no thread) until the child has written, or has gone."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    fd = receiver.fileno()
    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"the worker process died ({name}); the media may be malformed, or too large"
    return f"the worker process exited ({exitcode}) without an answer"


M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
M_MMAP_THRESHOLD = -3
WARM_HEAP_BYTES = 16 * 1024 * 1024


def _warm_heap() -> None:
    """While the spare child waits for its job: fault in heap pages now, and keep them, so the
    job's decoders allocate from memory already mapped instead of faulting page by page."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    libc.mallopt(M_MMAP_THRESHOLD, 2 * WARM_HEAP_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, 4 * WARM_HEAP_BYTES)
    warm = bytearray(WARM_HEAP_BYTES)  # zero-filled: every page touched
    del warm


def _child_main(jobs: Connection, sender: Connection, memory_limit: int | None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child stops
    if memory_limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    _warm_heap()
    try:
        function, args = jobs.recv()
    except EOFError:
        return  # a spare the parent no longer needs
    try:
        sender.send(("result", function(*args, progress=_reporter(sender))))
    except EditroomError as exc:
        sender.send(("error", type(exc), str(exc)))
    except MemoryError:
        sender.send(("error", SandboxOutOfMemory, _out_of_memory(memory_limit)))
    except Exception as exc:  # the child's boundary: say what went wrong, not only that it did
        sender.send(("error", *_unexpected(function, exc)))
    finally:
        sender.close()


def _out_of_memory(memory_limit: int | None) -> str:
    if memory_limit is None:
        return "ran out of memory"
    return (
        f"ran out of memory: it needs more than the {memory_limit / 1024**3:.3g} GiB that "
        "EDITROOM_EDIT_MEMORY_BYTES allows; raise that limit or use smaller media"
    )


def _unexpected(function: Callable[..., Any], exc: Exception) -> tuple[type[EditroomError], str]:
    """The error class and message an exception we did not expect comes back as."""
    name = getattr(function, "__name__", "the job")
    what = described(exc)[:MAX_ERROR_CHARS]
    if _environmental(exc):
        return SandboxIOError, f"I/O error in {name}: {what}"
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return SandboxInternalError, f"internal error in {name}: {what}{where}"


def _environmental(exc: Exception) -> bool:
    """Trouble from our disk or our own connections, not the media or our code. FFmpeg's
    errors are the file's, whatever their errno (a connection an HLS or ffconcat file asked
    for included), unless they are real I/O trouble."""
    if isinstance(exc, av.FFmpegError):
        return io_trouble(exc)
    return io_trouble(exc) or isinstance(exc, ConnectionError | TimeoutError)


def _reporter(sender: Connection) -> Callable[..., None]:
    last = {"fraction": -1.0, "at": 0.0}

    def report(fraction: float | None, detail: Detail = None) -> None:
        now = time.monotonic()
        stepped = fraction is not None and fraction - last["fraction"] >= PROGRESS_STEP
        if stepped or now - last["at"] >= PROGRESS_INTERVAL_SECONDS:
            last.update(fraction=fraction if fraction is not None else last["fraction"], at=now)
            sender.send(("progress", fraction, detail))

    return report
