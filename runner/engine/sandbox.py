"""Untrusted media is handled in child processes: a decoder that crashes, hangs or eats memory
takes down only its child, never the API or the runner.

Children fork from a forkserver that has already imported everything they run
(runner.engine.preload), and a child serves job after job, so an edit or an upload check pays
for no process of its own. A child is replaced (it exits, a new one is started off the event
loop) after any job that fails in any way (any exception, a crash, its time limit), once its
peak memory (max RSS) has passed EDITROOM_SANDBOX_CHILD_MAX_RSS_BYTES, after
EDITROOM_SANDBOX_JOBS_PER_CHILD jobs, and after a job that left anything behind that could
reach the next: a file descriptor still open, a thread still running, another working
directory or other resource limits. What a job leaves in Python memory (a module global it
set, a cache it filled) does reach the next job the same child serves: jobs are pure
functions of their arguments, reading and writing only the paths they are given (the caller
removes those), so nothing they keep changes another job's result. Each child gets a memory
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
import gc
import multiprocessing
import multiprocessing.connection
import os
import resource
import signal
import threading
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
    SandboxStuck,
    SandboxTimeout,
    described,
    io_trouble,
)
from service.kernel.settings import Settings

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
MAX_IDLE_CHILDREN = 4  # waiting between jobs; more at once are started, then retired
JOBS_PER_CHILD = 50
CHILD_MAX_RSS_BYTES = 1024**3
CHILD_READY_SECONDS = 30.0  # a child's start waits this long, at most, for its "ready"
CHILD_TAKE_SECONDS = 30.0  # and a child handed a job this long, at most, for its "started"

# multiprocessing's bookkeeping of children is not thread-safe: Process.start() first polls
# every child started before (its _cleanup), reading an exited one's exit code from its
# sentinel, while a reap in another thread reads the same code and closes the sentinel. A
# start that saw the sentinel readable then read from whatever took the descriptor's number
# next: a new child's pipe, where it hung (the edit waiting for that child sat at progress 0
# for good) or ate 4 bytes of the child's messages. Children are started, polled, joined and
# closed under this lock, in whichever thread.
_PROCESSES = threading.Lock()


@dataclass(frozen=True, slots=True)
class Renewal:
    """When a child is replaced by a fresh one, besides after any failure."""

    jobs_per_child: int = JOBS_PER_CHILD
    max_rss_bytes: int = CHILD_MAX_RSS_BYTES


@dataclass(slots=True)
class _Child:
    """A started child waiting for jobs on `jobs`; it answers on `answers`."""

    process: Any  # multiprocessing's forkserver Process
    jobs: Connection
    answers: Connection

    def usable(self) -> bool:
        """Alive: its sentinel (readable once it has exited) is only looked at, not read, so
        the event loop never waits for _PROCESSES."""
        return not multiprocessing.connection.wait([self.process.sentinel], 0)

    async def stop(self) -> None:
        """Kill it if it still runs; returns once it is gone."""
        await asyncio.to_thread(self.reap)

    def reap(self) -> None:
        if self.usable():
            self.process.kill()
        _join(self.process)
        with _PROCESSES:
            self.process.close()
        self.jobs.close()
        self.answers.close()


class Sandbox:
    """Runs jobs in children that serve many jobs each (see the module's docstring), keeping
    one child ready. Its tasks and children belong to the event loop that first runs a job:
    use one Sandbox per loop."""

    def __init__(self, *, memory_limit_bytes: int | None, renewal: Renewal = Renewal()) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._memory_limit_bytes = memory_limit_bytes
        self._renewal = renewal
        self._idle: list[_Child] = []
        self._refilling: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Sandbox":
        renewal = Renewal(
            jobs_per_child=settings.sandbox_jobs_per_child,
            max_rss_bytes=settings.sandbox_child_max_rss_bytes,
        )
        return cls(memory_limit_bytes=settings.edit_memory_bytes, renewal=renewal)

    async def warm(self) -> None:
        """Start the forkserver and a first child now (in a thread: the forkserver imports
        every engine, seconds), so the first job does not wait for them."""
        self._refill_soon(delay=0.0)
        if self._refilling is not None:
            await asyncio.shield(self._refilling)

    async def close(self) -> None:
        """Stop the children waiting for jobs."""
        if self._refilling is not None:
            self._refilling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refilling
        idle, self._idle = self._idle, []
        for child in idle:
            await child.stop()

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
        child: _Child | None = None
        answer: _Answer | None = None
        try:
            # Nothing before the job's answer is unbounded: the wait for a child has its own
            # bound (a start that hung used to hold its edit for good), and the job's time
            # limit counts its work, not the start of a forkserver on a loaded machine.
            waiting = 2 * CHILD_READY_SECONDS  # a start's own bound, and the forkserver's
            try:
                async with asyncio.timeout(waiting):
                    child = await self._take_child()
            except TimeoutError:
                raise SandboxStuck(f"no worker process was ready within {waiting:g} s") from None
            async with asyncio.timeout(timeout_seconds):
                with contextlib.suppress(BrokenPipeError):  # it died: _collect says how
                    child.jobs.send((function, args))
                answer = await _collect(
                    child.answers, child.process, on_progress, take_seconds=CHILD_TAKE_SECONDS
                )
        except TimeoutError:
            message = timed_out or f"stopped after {timeout_seconds:.0f} s, its time limit"
            raise SandboxTimeout(message) from None
        finally:
            if child is None:
                pass
            elif answer is not None and answer.keep and len(self._idle) < MAX_IDLE_CHILDREN:
                self._idle.append(child)
            elif answer is not None:
                # It answered and exits; the caller need not wait while its memory is torn down.
                asyncio.get_running_loop().run_in_executor(None, child.reap)
            else:
                await child.stop()
            self._refill_soon()
        result: T = answer.value()
        return result

    def _refill_soon(self, delay: float = REFILL_DELAY_SECONDS) -> None:
        """Start a child in a thread (starting one blocks for milliseconds) unless one waits."""
        if not self._idle and (self._refilling is None or self._refilling.done()):
            self._refilling = asyncio.get_running_loop().create_task(self._refill(delay))

    async def _refill(self, delay: float) -> None:
        # Let the caller finish its edit (store, complete) before a fork competes for the CPU.
        await asyncio.sleep(delay)
        try:
            child = await asyncio.to_thread(self._start_child)
        except SandboxStuck:
            return  # killed; a job waiting for it starts a child of its own, and says so
        if len(self._idle) < MAX_IDLE_CHILDREN:
            self._idle.append(child)
        else:
            await child.stop()

    async def _take_child(self) -> _Child:
        if not self._idle and self._refilling is not None and not self._refilling.done():
            await asyncio.shield(self._refilling)  # the next child is nearly there
        while self._idle:
            child = self._idle.pop()
            if child.usable():
                return child
            await child.stop()
        # Off the event loop: the first start also starts the forkserver, which imports every
        # engine (seconds); heartbeats and requests must not wait behind it.
        starting = asyncio.ensure_future(asyncio.to_thread(self._start_child))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:  # its time limit: the child, once started, waits idle
            starting.add_done_callback(self._adopt)
            raise

    def _adopt(self, starting: "asyncio.Future[_Child]") -> None:
        if starting.cancelled() or starting.exception() is not None:
            return
        child = starting.result()
        if len(self._idle) < MAX_IDLE_CHILDREN:
            self._idle.append(child)
        else:
            asyncio.get_running_loop().run_in_executor(None, child.reap)

    def _start_child(self) -> _Child:
        answers, answer_end = self._context.Pipe(duplex=False)
        job_end, jobs = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=_child_main,
            args=(job_end, answer_end, self._memory_limit_bytes, self._renewal),
            daemon=True,
        )
        with _PROCESSES:
            process.start()
        answer_end.close()
        job_end.close()
        child = _Child(process, jobs, answers)
        if not _await_ready(answers):
            child.reap()
            raise SandboxStuck(f"a worker process did not start within {CHILD_READY_SECONDS:g} s")
        return child


def _await_ready(answers: Connection) -> bool:
    """Block (in the starting thread) until the child says it is ready: a started process
    still imports its parent's main module and warms its heap, and a child counted idle
    before that would make the first job (the first upload after start) wait for it. One
    that dies first is found unusable when taken (True: not stuck); one silent past the
    bound is stuck (False), and is never handed a job."""
    try:
        if not answers.poll(CHILD_READY_SECONDS):
            return False
        answers.recv()
    except (EOFError, OSError):
        pass
    return True


@dataclass(frozen=True, slots=True)
class _Answer:
    """A job's result, or the error it raised; `keep`: the child serves another job."""

    result: Any = None
    error: EditroomError | None = None
    keep: bool = False

    def value(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


async def _collect(
    receiver: Connection, child: Any, on_progress: Report | None, *, take_seconds: float | None
) -> _Answer:
    """The job's answer. A child says "started" once it has read the job: one that has not
    within take_seconds is stuck (it never read it) and raises SandboxStuck, whatever the
    job's own time limit; the job never ran, so another child may run it at once."""
    loop = asyncio.get_running_loop()
    taken_by = None if take_seconds is None else loop.time() + take_seconds
    while True:
        try:
            async with asyncio.timeout_at(taken_by):
                await _readable(receiver)
        except TimeoutError:
            raise SandboxStuck(
                f"the worker process did not take its job within {take_seconds:g} s"
            ) from None
        try:
            message = receiver.recv()  # written whole by the child: a short read
        except EOFError:
            raise SandboxCrashed(_death(await asyncio.to_thread(_exit_code, child))) from None
        match message:
            case ("started",):
                taken_by = None
            case ("progress", fraction, detail):
                if on_progress is not None:
                    on_progress(fraction, detail)
            case ("result", value, keep):
                return _Answer(result=value, keep=keep)
            case ("error", error_class, text):
                error = error_class.__new__(error_class)
                Exception.__init__(error, text)
                return _Answer(error=error)


def _exit_code(process: Any) -> int | None:
    _join(process)
    return process.exitcode  # type: ignore[no-any-return]


def _join(process: Any) -> None:
    """Wait until it has exited (looking at its sentinel, which reads nothing: the lock is
    not held meanwhile), then join it under _PROCESSES, which returns at once."""
    multiprocessing.connection.wait([process.sentinel])
    with _PROCESSES:
        process.join()


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
M_ARENA_MAX = -8
WARM_HEAP_BYTES = 16 * 1024 * 1024


def _warm_heap() -> None:
    """While the spare child waits for its job: fault in heap pages now, and keep them, so the
    job's decoders allocate from memory already mapped instead of faulting page by page. And
    one heap for all threads: a thread a job starts (a resize's bands, FFmpeg's) would
    otherwise reserve an arena of 64 MiB of address space, which RLIMIT_AS counts against the
    job (a banded 8000x6000 resize needed 80 MiB more of the limit than one thread; 16 MiB
    with one arena)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return  # not glibc: nothing to tune
    libc.mallopt(M_ARENA_MAX, 1)
    libc.mallopt(M_MMAP_THRESHOLD, 2 * WARM_HEAP_BYTES)
    libc.mallopt(M_TRIM_THRESHOLD, 4 * WARM_HEAP_BYTES)
    warm = bytearray(WARM_HEAP_BYTES)  # zero-filled: every page touched
    del warm


def _child_main(
    jobs: Connection, sender: Connection, memory_limit: int | None, renewal: Renewal
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child stops
    if memory_limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    _warm_heap()
    gc.collect()
    gc.freeze()  # what the forkserver imported is never garbage: collections skip it
    sender.send(("ready",))
    start = _State.now()

    def fit() -> bool:
        return _fit(start, renewal)

    for served in range(1, renewal.jobs_per_child + 1):
        try:
            function, args = jobs.recv()
        except EOFError:
            return  # the parent no longer needs it
        sender.send(("started",))
        last = served == renewal.jobs_per_child
        if not _serve(function, args, sender, memory_limit, last=last, fit=fit):
            break
    sender.close()


def _serve(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    sender: Connection,
    memory_limit: int | None,
    *,
    last: bool,
    fit: Callable[[], bool],
) -> bool:
    """Runs one job and answers; whether this child may serve another."""
    try:
        value = function(*args, progress=_reporter(sender))
        kept = not last and fit()
        sender.send(("result", value, kept))
        return kept
    except EditroomError as exc:
        sender.send(("error", type(exc), str(exc)))
    except MemoryError:
        sender.send(("error", SandboxOutOfMemory, _out_of_memory(memory_limit)))
    except Exception as exc:  # the child's boundary: say what went wrong, not only that it did
        sender.send(("error", *_unexpected(function, exc)))
    return False


@dataclass(frozen=True, slots=True)
class _State:
    """What a job could leave behind for the next one outside Python's memory."""

    descriptors: frozenset[str]
    threads: int
    directory: str
    limits: tuple[tuple[int, int], ...]

    @classmethod
    def now(cls) -> "_State":
        return cls(
            descriptors=frozenset(os.listdir("/proc/self/fd")),
            threads=threading.active_count(),
            directory=os.getcwd(),
            limits=tuple(resource.getrlimit(limit) for limit in _LIMITS),
        )


_LIMITS = (resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NOFILE, resource.RLIMIT_CPU)


def _fit(start: _State, renewal: Renewal) -> bool:
    """Whether this child may serve another job: nothing left behind, memory under the mark."""
    gc.collect()  # a container or file the job dropped is closed now, not in the next job
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return peak <= renewal.max_rss_bytes and _State.now() == start


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
