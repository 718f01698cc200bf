"""Work done in order on a thread of its own while the caller goes on: a smart cut re-encodes
its head there while the packets after it are copied (PyAV lets go of the GIL while FFmpeg
decodes and encodes, so both cores work). The first error a step raises is raised again by
`result`; the steps after it are skipped. With `max_waiting`, `submit` blocks while that
many steps wait or run (decoded frames waiting for an encoder are megabytes each)."""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    def __init__(self, name: str, *, max_waiting: int | None = None) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._room = threading.Semaphore(max_waiting) if max_waiting else None
        self._error: BaseException | None = None
        self._last: Future[T] | None = None

    def submit(self, step: Callable[[], object]) -> None:
        """A step, run after those submitted before it."""
        if self._room is not None:
            self._room.acquire()
        self._pool.submit(self._guarded, step)

    def finish(self, last: Callable[[], T]) -> None:
        """The last step, whose value `result` returns; nothing may be submitted after it."""
        self._last = self._pool.submit(self._closing, last)
        self._pool.shutdown(wait=False)

    def done(self) -> bool:
        return self._last is not None and self._last.done()

    def result(self) -> T:
        """The last step's value, once every step has run (the thread has ended)."""
        assert self._last is not None, "finish() first"
        try:
            return self._last.result()
        finally:
            self._pool.shutdown(wait=True)

    def _guarded(self, step: Callable[[], object]) -> None:
        try:
            if self._error is None:
                step()
        except BaseException as exc:  # raised again, in the caller's thread, by result()
            self._error = exc
        finally:
            if self._room is not None:
                self._room.release()

    def _closing(self, last: Callable[[], T]) -> T:
        if self._error is not None:
            raise self._error
        return last()
