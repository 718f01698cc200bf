"""Untrusted media is handled in child processes: a decoder that crashes, hangs or eats memory
takes down only its child, never the API or the runner.

Children fork from a forkserver that has already imported Pillow, PyAV and OpenCV, so starting
one costs milliseconds. Each child gets a memory limit; the parent kills it at its time limit
or when the awaiting task is cancelled (an edit cancelled mid-run stops at once)."""

import asyncio
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

from service.errors import EditroomError

T = TypeVar("T")
Detail = dict[str, Any] | None


class Report(Protocol):
    """Progress: the fraction done (None when unknown), and what else there is to say about
    it (bytes so far and in all, for an import)."""

    def __call__(self, fraction: float | None, detail: Detail = None) -> None: ...


# Modules every child needs, imported once by the forkserver.
PRELOAD = [
    "runner.probe",
    "runner.image.pipeline",
    "runner.video.pipeline",
    "runner.imports.download",
]
PROGRESS_STEP = 0.01
PROGRESS_INTERVAL_SECONDS = 0.25


class SandboxTimeout(EditroomError):
    """The child ran past its time limit and was stopped."""


class SandboxCrashed(EditroomError):
    """The child died without an answer (a crash, or the memory limit)."""


class Sandbox:
    def __init__(self, *, memory_limit_bytes: int | None) -> None:
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._memory_limit_bytes = memory_limit_bytes

    async def run(
        self,
        function: Callable[..., T],
        *args: Any,
        timeout_seconds: float,
        on_progress: Report | None = None,
    ) -> T:
        """function(*args, progress=...) in a child; its result, or its EditroomError."""
        receiver, sender = self._context.Pipe(duplex=False)
        child = self._context.Process(
            target=_child_main,
            args=(function, args, sender, self._memory_limit_bytes),
            daemon=True,
        )
        child.start()
        sender.close()
        try:
            async with asyncio.timeout(timeout_seconds):
                result: T = await _collect(receiver, child, on_progress)
                return result
        except TimeoutError:
            raise SandboxTimeout(f"stopped after {timeout_seconds:.0f} s, its time limit") from None
        finally:
            if child.is_alive():
                child.kill()
            await asyncio.to_thread(child.join)
            receiver.close()
            child.close()


async def _collect(receiver: Connection, child: Any, on_progress: Report | None) -> Any:
    while True:
        try:
            message = await asyncio.to_thread(receiver.recv)
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


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return f"the worker process died ({name}); the media may be malformed, or too large"
    return f"the worker process exited ({exitcode}) without an answer"


def _child_main(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    sender: Connection,
    memory_limit: int | None,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a child stops
    if memory_limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    try:
        sender.send(("result", function(*args, progress=_reporter(sender))))
    except EditroomError as exc:
        sender.send(("error", type(exc), str(exc)))
    except MemoryError:
        sender.send(("error", SandboxCrashed, "ran out of memory (EDITROOM_EDIT_MEMORY_BYTES)"))
    finally:
        sender.close()


def _reporter(sender: Connection) -> Callable[..., None]:
    last = {"fraction": -1.0, "at": 0.0}

    def report(fraction: float | None, detail: Detail = None) -> None:
        now = time.monotonic()
        stepped = fraction is not None and fraction - last["fraction"] >= PROGRESS_STEP
        if stepped or now - last["at"] >= PROGRESS_INTERVAL_SECONDS:
            last.update(fraction=fraction if fraction is not None else last["fraction"], at=now)
            sender.send(("progress", fraction, detail))

    return report
