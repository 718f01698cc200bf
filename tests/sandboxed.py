"""Functions the sandbox tests run in child processes (children import them by name)."""

import errno
import os
import signal
import time
from collections.abc import Callable

from service.errors import InvalidMedia

Report = Callable[[float], None]


def add(a: int, b: int, *, progress: Report) -> int:
    for step in range(5):
        progress(step / 4)
    return a + b


def pid(*, progress: Report) -> int:
    return os.getpid()


def refuse(*, progress: Report) -> None:
    raise InvalidMedia("the picture is upside down")


def blunder(*, progress: Report) -> None:
    raise ValueError("the frame count is negative")


def disk_full(*, progress: Report) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/work/out.mp4")


def crash(*, progress: Report) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def hang(*, progress: Report) -> None:
    while True:
        time.sleep(1)


def hog(*, progress: Report) -> int:
    blocks = [bytearray(64 * 1024 * 1024) for _ in range(64)]  # 4 GiB
    return len(blocks)


def write_pid_and_hang(path: str, *, progress: Report) -> None:
    with open(path, "w") as handle:
        handle.write(str(os.getpid()))
    hang(progress=progress)
