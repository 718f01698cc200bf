"""Scratch folders of edit attempts, and removing those of attempts that died.

An attempt works in `<EDITROOM_WORK_DIR>/<edit|import>-<edit id>-<trial>-<random>`, which can
hold a whole downloaded source. A runner killed mid-edit (SIGKILL, out of memory, a power cut)
never removes it, so the next runner does at start, and `editroom cleanup` does too.

Whether the attempt is alive is read from the folder itself first: its runner holds an
exclusive flock on `.lock` inside it for as long as it works, and the kernel drops that lock
when the process dies, however it dies. A folder whose lock anyone can take is dead, even
before the queue has noticed (the lease runs on). A folder without a lock file (its runner
died between making it and locking it) is judged by the queue: alive while its edit is
processing with the trial the name carries. Folders not named this way are not ours to judge.
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from service.kernel.db import Database
from service.kernel.errors import EditroomError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
_NAME = re.compile(r"^(edit|import)-([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})-(\d+)-")


@dataclass(frozen=True, slots=True)
class ScratchFolder:
    path: Path
    edit_id: UUID
    trial: int


@contextlib.contextmanager
def scratch_folder(parent: Path, *, prefix: str, edit_id: UUID, trial: int) -> Iterator[Path]:
    """A folder of this attempt's own, locked while it works and removed when it ends."""
    parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=parent, prefix=f"{prefix}-{edit_id}-{trial}-"))
    try:
        with _locked(folder):
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Locked under another name, then renamed: whoever sees .lock finds it already held.
    unlocked = folder / f"{LOCK_NAME}-new"
    descriptor = os.open(unlocked, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        unlocked.rename(folder / LOCK_NAME)
        yield
    finally:
        os.close(descriptor)


async def remove_dead_scratch(database: Database, work_dir: Path) -> int:
    """Remove the scratch folders of attempts no process works on any more; returns how many."""
    removed = 0
    for folder in await asyncio.to_thread(_scratch_folders, work_dir):
        held = await asyncio.to_thread(_lock_held, folder.path)
        if held is None:
            held = await _attempt_running(database, folder)
        if not held:
            await asyncio.to_thread(shutil.rmtree, folder.path, ignore_errors=True)
            log.info("removed a dead attempt's scratch folder", extra={"path": str(folder.path)})
            removed += 1
    return removed


async def remove_dead_scratch_at_start(database: Database, work_dir: Path) -> None:
    """For a runner starting: what its killed predecessor left. Never stops the start."""
    try:
        await remove_dead_scratch(database, work_dir)
    except (EditroomError, OSError) as exc:
        log.warning("cannot remove dead scratch folders", extra={"error": str(exc)})


def _scratch_folders(work_dir: Path) -> list[ScratchFolder]:
    try:
        entries = list(os.scandir(work_dir))
    except FileNotFoundError:
        return []
    folders = []
    for entry in entries:
        named = _NAME.match(entry.name)
        if named and entry.is_dir(follow_symlinks=False):
            folders.append(ScratchFolder(Path(entry.path), UUID(named[2]), int(named[3])))
    return folders


def _lock_held(folder: Path) -> bool | None:
    """True while a process holds the folder's lock, False when none does, None: no lock."""
    try:
        descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except PermissionError:
        return True  # another user's: not ours to remove
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


async def _attempt_running(database: Database, folder: ScratchFolder) -> bool:
    edit = await database.fetch_one("edit_by_id", id=folder.edit_id)
    return edit is not None and (edit["status"], edit["trial"]) == ("processing", folder.trial)
