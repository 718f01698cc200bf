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

A runner keeps the folders of its finished attempts, emptied, for its next ones (ScratchFolders):
on some disks each new folder or file costs a millisecond of the kernel's time, and an attempt
would otherwise make three (its folder, its lock file, its `out` folder). A kept folder waits
as `spare-<random>`, still locked; it only ever gets that name locked, so a spare whose lock
anyone can take, or that has no lock file, is dead. Folders are removed holding their lock,
and a lockless spare under a name of its own first (`dead-<random>`): a live spare renamed
away and back as the clean-up looked is never taken for a dead one.
"""

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import secrets
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
SPARE_PREFIX = "spare-"
DEAD_PREFIX = "dead-"  # a lockless spare on its way out (scratch of no attempt, like a spare)
MAX_SPARES = 8  # a runner's kept folders; more attempts at once make (and remove) their own
_NAME = re.compile(r"^(edit|import)-([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})-(\d+)-")


@dataclass(frozen=True, slots=True)
class ScratchFolder:
    path: Path
    edit_id: UUID | None  # None: a spare, judged by its lock alone
    trial: int


@dataclass(slots=True)
class _Spare:
    """A locked folder between attempts: its name's random tail, and its lock's descriptor."""

    tail: str
    lock: int


class ScratchFolders:
    """One runner's attempts' folders: each locked while it works, emptied when it ends and
    kept (up to MAX_SPARES, the subfolders named in `keep` left in place, empty) for the next
    attempt, which only renames it. Used from one event loop (not thread-safe)."""

    def __init__(self, parent: Path, *, keep: tuple[str, ...] = ()) -> None:
        self._parent = parent
        self._keep = keep
        self._spares: list[_Spare] = []

    @contextlib.contextmanager
    def attempt(self, *, prefix: str, edit_id: UUID, trial: int) -> Iterator[Path]:
        """A folder of this attempt's own, locked while it works, empty when it starts."""
        name = f"{prefix}-{edit_id}-{trial}-"
        spare = self._take(name)
        folder = self._parent / f"{name}{spare.tail}"
        try:
            yield folder
        finally:
            self._put_back(folder, spare)

    def close(self) -> None:
        """Remove the spares."""
        spares, self._spares = self._spares, []
        for spare in spares:
            _remove(self._spare_path(spare), spare.lock)

    def _take(self, name: str) -> _Spare:
        while self._spares:
            spare = self._spares.pop()
            try:
                os.rename(self._spare_path(spare), self._parent / f"{name}{spare.tail}")
                return spare
            except OSError:  # removed under us (by hand): its lock is of no use either
                os.close(spare.lock)
        self._parent.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(dir=self._parent, prefix=name))
        try:
            return _Spare(folder.name.removeprefix(name), _lock(folder))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _spare_path(self, spare: _Spare) -> Path:
        return self._parent / f"{SPARE_PREFIX}{spare.tail}"

    def _put_back(self, folder: Path, spare: _Spare) -> None:
        if len(self._spares) >= MAX_SPARES:
            _remove(folder, spare.lock)
            return
        try:
            _empty(folder, keep=self._keep)
            os.rename(folder, self._spare_path(spare))
        except OSError:
            _remove(folder, spare.lock)
            return
        self._spares.append(spare)


def _lock(folder: Path) -> int:
    """Lock the folder for as long as the returned descriptor is open. Locked under another
    name, then renamed: whoever sees .lock finds it already held."""
    unlocked = folder / f"{LOCK_NAME}-new"
    descriptor = os.open(unlocked, os.O_CREAT | os.O_WRONLY, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        unlocked.rename(folder / LOCK_NAME)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def _empty(folder: Path, *, keep: tuple[str, ...]) -> None:
    """Everything in the folder removed but its lock; the folders in `keep` are emptied."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name == LOCK_NAME:
                continue
            if entry.name in keep and entry.is_dir(follow_symlinks=False):
                _empty(Path(entry.path), keep=())
            elif entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)  # a link (to a folder too) is removed, never followed


def _remove(folder: Path, lock: int) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    os.close(lock)


async def remove_dead_scratch(database: Database, work_dir: Path) -> int:
    """Remove the scratch folders of attempts no process works on any more; returns how many.
    A folder is removed holding its lock: a runner only renames or writes folders whose locks
    it holds, so none can reuse one while it goes (a spare is renamed back and forth by its
    runner: read a moment later, it may be another folder under the same name)."""
    removed = 0
    for folder in await asyncio.to_thread(_scratch_folders, work_dir):
        gone = await asyncio.to_thread(_remove_unless_held, folder.path)
        if gone is None and folder.edit_id is not None:  # no lock file: the queue judges
            gone = not await _attempt_running(database, folder)
            if gone:
                await asyncio.to_thread(shutil.rmtree, folder.path, ignore_errors=True)
        elif gone is None:
            gone = await asyncio.to_thread(_remove_lockless_spare, folder.path)
        if gone:
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
        if not entry.is_dir(follow_symlinks=False):
            continue
        if named := _NAME.match(entry.name):
            folders.append(ScratchFolder(Path(entry.path), UUID(named[2]), int(named[3])))
        elif entry.name.startswith((SPARE_PREFIX, DEAD_PREFIX)):
            folders.append(ScratchFolder(Path(entry.path), None, 0))
    return folders


def _remove_unless_held(folder: Path) -> bool | None:
    """Removes the folder, holding its lock, when no process holds it: True. False while one
    does; None when it has no lock file."""
    try:
        descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except PermissionError:
        return False  # another user's: not ours to remove
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    else:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        os.close(descriptor)
    return True


def _remove_lockless_spare(spare: Path) -> bool:
    """A spare without a lock file is a dead runner's, or the name of a live spare renamed
    away as the clean-up looked, and maybe back since. It is removed under a name of its own
    (a rename: it fails if the spare is away), which is put back if it turns out locked."""
    tombstone = spare.with_name(f"{DEAD_PREFIX}{secrets.token_hex(8)}")
    try:
        spare.rename(tombstone)
    except FileNotFoundError:
        return False
    gone = _remove_unless_held(tombstone)
    if gone is None:
        shutil.rmtree(tombstone, ignore_errors=True)
        return True
    if not gone:  # a live spare, renamed back just before: its runner's again
        with contextlib.suppress(OSError):
            tombstone.rename(spare)
    return gone


async def _attempt_running(database: Database, folder: ScratchFolder) -> bool:
    edit = await database.fetch_one("edit_by_id", id=folder.edit_id)
    return edit is not None and (edit["status"], edit["trial"]) == ("processing", folder.trial)
