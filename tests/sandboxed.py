"""Functions the sandbox tests run in child processes (children import them by name)."""

import errno
import os
import resource
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
from PIL import Image

from runner.engine.image import engine, resample
from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video.pipeline import edit_video
from service.kernel.errors import InvalidMedia

Report = Callable[[float], None]
FILE_SIZE_LIMIT_BYTES = 1024
LIMITS = Limits(max_pixels=4_000_000, max_output_side=2000, max_video_seconds=60, max_operations=10)


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


def raise_os_error(kind: str, *, progress: Report) -> None:
    """OSErrors as FFmpeg, the disk or a connection raise them, each naming a server path."""
    path = "/srv/editroom/edits/in-1234"
    match kind:
        case "ffmpeg-refused-a-file-the-media-names":  # an ffconcat script's /etc/passwd
            raise av.error.PermissionError(errno.EPERM, os.strerror(errno.EPERM), path)
        case "ffmpeg-connection-the-media-asked-for":  # an HLS playlist's segment
            code = errno.ECONNREFUSED
            raise av.error.ConnectionRefusedError(code, os.strerror(code), path)
        case "ffmpeg-on-a-full-disk":
            raise av.error.OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        case "permission-on-our-path":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        case "our-connection-refused":
            raise ConnectionRefusedError(errno.ECONNREFUSED, os.strerror(errno.ECONNREFUSED))
        case "read-only-disk":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)


def edit_video_within_a_file_size_limit(source: str, out_dir: str, *, progress: Report) -> None:
    """A real failing write: past RLIMIT_FSIZE, write() fails with EFBIG (with SIGXFSZ
    ignored), as it fails with ENOSPC on a full disk."""
    operations = parse_query(catalogue(), MediaKind.VIDEO, [("format", "mkv")], limits=LIMITS)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, FILE_SIZE_LIMIT_BYTES))
    edit_video(
        Path(source), operations, out_dir=Path(out_dir), limits=LIMITS, progress=progress,
        others={},
    )  # fmt: skip


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


def exit_quietly(*, progress: Report) -> None:
    os._exit(0)


def use_memory(megabytes: int, *, progress: Report) -> int:
    """Touches that much memory (every page), drops it, and says which process did."""
    block = bytearray(megabytes * 1024 * 1024)
    del block
    return os.getpid()


KEPT: list[object] = []


def leave_open(path: str, *, progress: Report) -> int:
    """Keeps a file open after it returns (a leak the next job must not inherit)."""
    KEPT.append(open(path, "w"))  # noqa: SIM115
    return os.getpid()


def trim_accurately(source: str, out_dir: str, *, progress: Report) -> int:
    """An accurate trim (its head re-encoded on a thread of its own); the serving pid."""
    operations = parse_query(catalogue(), MediaKind.VIDEO, [("trim", "1.25,2.5")], limits=LIMITS)
    edit_video(
        Path(source), operations, out_dir=Path(out_dir), limits=LIMITS, progress=progress,
        others={},
    )  # fmt: skip
    return os.getpid()


def silent_child(*args: object) -> None:
    """A sandbox child's main that never says it is ready."""
    time.sleep(3600)


def ready_then_stuck_child(jobs: object, sender: Any, *args: object) -> None:
    """One that says ready, then never reads a job."""
    sender.send(("ready",))
    time.sleep(3600)


def resize_in_bands(*, progress: Report) -> tuple[int, int]:
    """A resize large enough for two threads; the serving pid, and the address space (which
    the memory limit counts) the child holds more after it than before."""
    frame = Image.effect_noise((1000, 750), 64).convert("RGB")
    before = _address_space_bytes()
    busy_or_not = resample.a_core_is_idle
    resample.a_core_is_idle = _idle  # cut into bands however busy the machine is
    try:
        engine.resize(frame, (800, 600))
    finally:
        resample.a_core_is_idle = busy_or_not
    return os.getpid(), _address_space_bytes() - before


def _idle(loadavg: Path = resample.LOADAVG, cpu_max: Path = resample.CPU_MAX) -> bool:
    return True


def _address_space_bytes() -> int:
    with open("/proc/self/status") as status:
        sizes = dict(line.split(":", 1) for line in status)
    return int(sizes["VmSize"].split()[0]) * 1024
