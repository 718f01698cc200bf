"""Children that answer, refuse, crash, hang, hog memory or get cancelled."""

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from PIL import Image

from runner.engine import sandbox as sandbox_module
from runner.engine.sandbox import Renewal, Sandbox, _Child, _collect
from service.domain.library import MediaLibrary
from service.kernel.db import Database
from service.kernel.errors import (
    InvalidMedia,
    SandboxCrashed,
    SandboxInternalError,
    SandboxIOError,
    SandboxOutOfMemory,
    SandboxStuck,
    SandboxTimeout,
)
from service.kernel.settings import Settings
from service.kernel.storage.base import Storage
from tests import child_modules, sandboxed
from tests.unit.video.media import Spec, make_video
from tests.waiting import eventually

pytestmark = pytest.mark.anyio
T = TypeVar("T")
MEMORY_LIMIT_BYTES = 2 * 1024**3


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)


async def test_a_result_and_its_progress(sandbox: Sandbox) -> None:
    seen: list[float | None] = []

    def note(fraction: float | None, detail: dict[str, object] | None = None) -> None:
        seen.append(fraction)

    result = await sandbox.run(sandboxed.add, 2, 3, timeout_seconds=30, on_progress=note)
    assert result == 5
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0]


async def test_a_child_serves_job_after_job() -> None:
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        pids = [await sandbox.run(sandboxed.pid, timeout_seconds=30) for _ in range(4)]
        assert len(set(pids)) == 1  # no process started per job
        assert os.getpid() not in pids
    finally:
        await sandbox.close()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def pid_after(sandbox: Sandbox, job: Callable[..., object], *args: object) -> int:
    """The pid serving the job after `job` (which fails) in a sandbox that just served one."""
    with contextlib.suppress(Exception):
        await sandbox.run(job, *args, timeout_seconds=30)
    return await sandbox.run(sandboxed.pid, timeout_seconds=30)


@pytest.mark.parametrize(
    "job", [sandboxed.refuse, sandboxed.blunder, sandboxed.crash, sandboxed.exit_quietly]
)
async def test_a_child_is_replaced_after_any_failure(job: Callable[..., object]) -> None:
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        before = await sandbox.run(sandboxed.pid, timeout_seconds=30)
        after = await pid_after(sandbox, job)
        assert after != before
        await asyncio.to_thread(eventually, lambda: gone(before), what="the failed child to go")
    finally:
        await sandbox.close()


async def test_a_child_is_replaced_after_its_number_of_jobs() -> None:
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES, renewal=Renewal(jobs_per_child=2))
    try:
        pids = [await sandbox.run(sandboxed.pid, timeout_seconds=30) for _ in range(5)]
        assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    finally:
        await sandbox.close()


async def test_a_child_is_replaced_once_its_memory_passed_the_mark() -> None:
    mark = 300 * 1024**2
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES, renewal=Renewal(max_rss_bytes=mark))
    try:
        small = [await sandbox.run(sandboxed.use_memory, 20, timeout_seconds=30) for _ in range(2)]
        assert small[0] == small[1]  # well under the mark: kept
        big = await sandbox.run(sandboxed.use_memory, 400, timeout_seconds=30)
        assert big == small[1]  # the job that passed the mark ran, and answered
        assert await sandbox.run(sandboxed.pid, timeout_seconds=30) != big
    finally:
        await sandbox.close()


async def test_a_child_that_left_a_file_open_is_replaced(tmp_path: Path) -> None:
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        leaker = await sandbox.run(sandboxed.leave_open, str(tmp_path / "f"), timeout_seconds=30)
        assert await sandbox.run(sandboxed.pid, timeout_seconds=30) != leaker
    finally:
        await sandbox.close()


async def test_a_timeout_kills_the_child(tmp_path: Path) -> None:
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    pid_file = tmp_path / "pid"
    try:
        with pytest.raises(SandboxTimeout):
            await sandbox.run(sandboxed.write_pid_and_hang, str(pid_file), timeout_seconds=1)
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
        assert await sandbox.run(sandboxed.add, 1, 1, timeout_seconds=30) == 2
    finally:
        await sandbox.close()


async def test_an_editroom_error_crosses_back_as_itself(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidMedia, match="upside down"):
        await sandbox.run(sandboxed.refuse, timeout_seconds=30)


async def test_an_unexpected_exception_says_what_it_was_and_is_final(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxInternalError) as raised:
        await sandbox.run(sandboxed.blunder, timeout_seconds=30)
    assert str(raised.value).startswith(
        "internal error in blunder: ValueError: the frame count is negative (at sandboxed.py:"
    )
    assert not raised.value.retryable  # it would raise again


async def test_a_disk_error_says_what_it_was_and_is_retried(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxIOError) as raised:
        await sandbox.run(sandboxed.disk_full, timeout_seconds=30)
    assert str(raised.value) == "I/O error in disk_full: OSError: No space left on device"
    assert raised.value.retryable


@pytest.mark.parametrize(
    ("kind", "retried"),
    [
        ("ffmpeg-refused-a-file-the-media-names", False),
        ("ffmpeg-connection-the-media-asked-for", False),
        ("permission-on-our-path", False),
        ("ffmpeg-on-a-full-disk", True),
        ("read-only-disk", True),
        ("our-connection-refused", True),
    ],
)
async def test_only_our_own_io_trouble_is_retried(
    sandbox: Sandbox, kind: str, retried: bool
) -> None:
    with pytest.raises(SandboxIOError if retried else SandboxInternalError) as raised:
        await sandbox.run(sandboxed.raise_os_error, kind, timeout_seconds=30)
    assert raised.value.retryable is retried
    assert "/srv" not in str(raised.value)


async def test_a_video_write_failing_on_the_disk_is_retried(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    source = make_video(tmp_path / "source.mp4", Spec())
    with pytest.raises(SandboxIOError) as raised:
        await sandbox.run(
            sandboxed.edit_video_within_a_file_size_limit, str(source), str(tmp_path),
            timeout_seconds=60,
        )  # fmt: skip
    assert str(raised.value).startswith(
        "I/O error in edit_video_within_a_file_size_limit: OSError: File too large"
    )
    assert raised.value.retryable


async def test_a_crash_is_reported_not_shared(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxCrashed, match="SIGSEGV"):
        await sandbox.run(sandboxed.crash, timeout_seconds=30)
    assert await sandbox.run(sandboxed.add, 1, 1, timeout_seconds=30) == 2


async def test_a_hang_is_stopped_at_the_time_limit(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxTimeout, match="time limit"):
        await sandbox.run(sandboxed.hang, timeout_seconds=0.5)


async def test_memory_is_limited_and_hitting_the_limit_is_final(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxOutOfMemory) as raised:
        await sandbox.run(sandboxed.hog, timeout_seconds=30)
    assert str(raised.value) == (
        "ran out of memory: it needs more than the 2 GiB that EDITROOM_EDIT_MEMORY_BYTES "
        "allows; raise that limit or use smaller media"
    )
    assert not raised.value.retryable  # the same input would hit it every time


async def test_cancelling_the_caller_kills_the_child(sandbox: Sandbox, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        sandbox.run(sandboxed.write_pid_and_hang, str(pid_file), timeout_seconds=60)
    )
    await asyncio.to_thread(eventually, pid_file.exists, what="the child to start")
    await asyncio.sleep(0.05)
    pid = int(pid_file.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_a_warmed_child_has_the_upload_check_loaded_before_its_first_job(
    tmp_path: Path,
) -> None:
    """What the first upload after start needs is paid at start: the child warm() started has
    imported the check the library sends it (a child imports a job it lacks on its first
    job: a third of a second for the service's domain modules) and the formats' first decode
    was rehearsed in the forkserver it was forked from."""
    sandbox = RecordingSandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    library = MediaLibrary(
        database=cast(Database, None), storage=cast(Storage, None), sandbox=sandbox,
        settings=Settings(),
    )  # fmt: skip
    try:
        await sandbox.warm()
        before = await sandbox.run(child_modules.imported, timeout_seconds=30)
        assert "JPEG" in await sandbox.run(child_modules.rehearsed, timeout_seconds=30)
        photo = tmp_path / "photo.jpg"
        Image.new("RGB", (64, 48), "teal").save(photo, "JPEG")
        facts = await library.check(photo, photo.stat().st_size)
        assert (facts.width, facts.height) == (64, 48)
        (check,) = [job for job in sandbox.jobs if job.__module__ != child_modules.__name__]
        assert check.__module__ in before
    finally:
        await sandbox.close()


class RecordingSandbox(Sandbox):
    def __init__(self, *, memory_limit_bytes: int) -> None:
        super().__init__(memory_limit_bytes=memory_limit_bytes)
        self.jobs: list[Callable[..., object]] = []

    async def run(self, function: Callable[..., T], *args: Any, **options: Any) -> T:
        self.jobs.append(function)
        return await super().run(function, *args, **options)


async def test_a_child_says_it_is_ready_before_it_counts_as_started() -> None:
    """A started child is counted once it has imported its parent's main module and warmed
    its heap (its "ready"), so the first job never waits for that; a "ready" that comes late
    is passed over by the job that reads it."""
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    child = await asyncio.to_thread(sandbox._start_child)
    try:
        assert child.usable()
        assert not child.answers.poll(0)  # its "ready" was read at start
        child.jobs.send((sandboxed.add, (2, 3)))
        assert await sandbox_collect(child) == 5
    finally:
        await child.stop()
        await sandbox.close()


async def sandbox_collect(child: Any) -> object:
    answer = await _collect(child.answers, child.process, None, take_seconds=None)
    return answer.value()


async def test_a_late_ready_is_passed_over() -> None:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    sender.send(("ready",))
    sender.send(("result", 5, True))
    answer = await _collect(receiver, None, None, take_seconds=None)
    assert answer.value() == 5


async def test_an_accurate_trim_leaves_no_thread_behind(tmp_path: Path) -> None:
    """The head's thread has ended when the job answers: the child serves the next job."""
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    source = make_video(tmp_path / "source.mp4", Spec(bframes=2))
    try:
        pids = []
        for turn in range(2):
            (out := tmp_path / f"out-{turn}").mkdir()
            job = sandboxed.trim_accurately
            pids.append(await sandbox.run(job, str(source), str(out), timeout_seconds=60))
        assert pids[0] == pids[1]
    finally:
        await sandbox.close()


async def test_a_resize_on_two_threads_keeps_its_child_and_adds_no_arena() -> None:
    """The resize's second thread has ended when the job answers, so the child serves the next
    job; and it allocated from the one malloc arena, not from one of its own that reserves
    64 MiB of the address space the memory limit counts."""
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        first_pid, grown_bytes = await sandbox.run(sandboxed.resize_in_bands, timeout_seconds=60)
        second_pid, _ = await sandbox.run(sandboxed.resize_in_bands, timeout_seconds=60)
    finally:
        await sandbox.close()
    assert first_pid == second_pid
    assert grown_bytes < 16 * 1024**2


def test_a_child_started_while_another_is_reaped_does_not_hang(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Process.start() first polls every child started before (multiprocessing's _cleanup):
    it sees an exited child's sentinel readable, then reads the exit code from it. Should a
    reap in another thread read that code and close the sentinel in between, and a new pipe
    take the descriptor, the start read from that pipe: it hung (no data), or ate 4 bytes
    of a child's messages. The window is widened here; without one lock around every
    start, poll, join and close of children the start hangs."""
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    exited = sandbox._start_child()
    sentinel = exited.process.sentinel
    exited.process.kill()
    multiprocessing.connection.wait([sentinel])  # it has exited: the exit code is readable
    real_wait = multiprocessing.connection.wait
    in_window, reaped = threading.Event(), threading.Event()

    def wait_widened(objects: Any, timeout: float | None = None) -> list[Any]:
        ready = real_wait(objects, timeout)
        if sentinel in ready and threading.current_thread().name == "starter":
            in_window.set()
            reaped.wait(2.0)  # a reap may close the sentinel now, if nothing stops it
        return ready

    monkeypatch.setattr(multiprocessing.connection, "wait", wait_widened)
    started: list[Any] = []
    starter = threading.Thread(
        target=lambda: started.append(sandbox._start_child()), name="starter", daemon=True
    )
    starter.start()
    assert in_window.wait(30)
    reaper = threading.Thread(target=exited.reap, daemon=True)
    reaper.start()
    reaper.join(0.5)  # blocked by the start, as it must be; else it closed the sentinel
    taker, feeder = os.pipe()
    try:
        os.fstat(sentinel)
    except OSError:  # the reap closed it: a new pipe (a new child's, a file) takes its number
        os.dup2(taker, sentinel)
    reaped.set()
    starter.join(10)
    try:
        assert not starter.is_alive(), "the start read another descriptor and hung"
        reaper.join(10)
        assert not reaper.is_alive()
        (child,) = started
        assert child.usable()
        child.reap()
    finally:
        os.write(feeder, b"\0" * 4)  # frees a start that hung on it
        starter.join(10)
        for descriptor in (taker, feeder):
            os.close(descriptor)


def reaped_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of the children reaped from now on (killed, or exiting after their job)."""
    pids: list[int] = []
    reap = _Child.reap

    def noting(child: _Child) -> None:
        pids.append(child.process.pid)
        reap(child)

    monkeypatch.setattr(_Child, "reap", noting)
    return pids


async def test_the_wait_for_a_child_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job whose child never comes is stopped after twice CHILD_READY_SECONDS, retryable,
    whatever its own time limit: a start that hung used to hold its edit for good."""
    monkeypatch.setattr(sandbox_module, "CHILD_READY_SECONDS", 0.5)

    class NoChildComes(Sandbox):
        async def _take_child(self) -> _Child:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    sandbox = NoChildComes(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    with pytest.raises(SandboxStuck, match=r"no worker process was ready within 1 s"):
        await asyncio.wait_for(sandbox.run(sandboxed.add, 2, 3, timeout_seconds=300), 10)
    assert SandboxStuck.retryable


async def test_a_child_that_never_says_ready_is_killed_not_handed_a_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sandbox_module, "_child_main", sandboxed.silent_child)
    monkeypatch.setattr(sandbox_module, "CHILD_READY_SECONDS", 1.0)
    reaped = reaped_pids(monkeypatch)
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        with pytest.raises(SandboxStuck, match="did not start within 1 s"):
            await asyncio.wait_for(sandbox.run(sandboxed.add, 2, 3, timeout_seconds=60), 30)
        assert len(reaped) == 1
        eventually(lambda: gone(reaped[0]))
    finally:
        await sandbox.close()


async def test_a_child_that_does_not_take_its_job_is_killed_well_before_the_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Said ready, then never read its job: replaced after CHILD_TAKE_SECONDS, not the
    job's time limit, and the next job gets a child that works."""
    monkeypatch.setattr(sandbox_module, "_child_main", sandboxed.ready_then_stuck_child)
    monkeypatch.setattr(sandbox_module, "CHILD_TAKE_SECONDS", 1.0)
    reaped = reaped_pids(monkeypatch)
    sandbox = Sandbox(memory_limit_bytes=MEMORY_LIMIT_BYTES)
    try:
        started = asyncio.get_running_loop().time()
        with pytest.raises(SandboxStuck, match="did not take its job within 1 s"):
            await sandbox.run(sandboxed.add, 2, 3, timeout_seconds=300)
        assert asyncio.get_running_loop().time() - started < 30
        assert len(reaped) == 1
        eventually(lambda: gone(reaped[0]))
        monkeypatch.undo()
        assert await sandbox.run(sandboxed.add, 2, 3, timeout_seconds=60) == 5
    finally:
        await sandbox.close()
