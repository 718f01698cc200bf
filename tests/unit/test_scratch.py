"""A runner's scratch folders: each attempt works in a folder named after it, locked, empty;
a finished attempt's folder is emptied and kept, locked, for the next one (making folders and
files is what costs on some disks), and removed when the runner stops."""

import fcntl
import os
from pathlib import Path
from uuid import uuid4

from service.domain.scratch import (
    LOCK_NAME,
    ScratchFolders,
    _remove_lockless_spare,
    _remove_unless_held,
)


def locked(folder: Path) -> bool:
    descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)
    return False


def test_the_next_attempt_reuses_the_last_ones_folder_emptied_and_still_locked(
    tmp_path: Path,
) -> None:
    folders = ScratchFolders(tmp_path, keep=("out",))
    first, second = uuid4(), uuid4()
    with folders.attempt(prefix="edit", edit_id=first, trial=1) as work:
        assert work.name.startswith(f"edit-{first}-1-") and locked(work)
        (work / f"in-{first}").write_bytes(b"a source")
        (work / "out" / "stills").mkdir(parents=True)
        (work / "out" / "result.jpg").write_bytes(b"a result")
        made = work.stat().st_ino
    (spare,) = tmp_path.iterdir()
    assert spare.name.startswith("spare-") and locked(spare)
    with folders.attempt(prefix="import", edit_id=second, trial=2) as work:
        assert work.name.startswith(f"import-{second}-2-") and locked(work)
        assert work.stat().st_ino == made  # renamed, not made again
        assert sorted(path.name for path in work.iterdir()) == [LOCK_NAME, "out"]
        assert list((work / "out").iterdir()) == []
    folders.close()
    assert list(tmp_path.iterdir()) == []


def test_attempts_at_once_each_have_a_folder_of_their_own(tmp_path: Path) -> None:
    folders = ScratchFolders(tmp_path)
    with (
        folders.attempt(prefix="edit", edit_id=uuid4(), trial=1) as one,
        folders.attempt(prefix="edit", edit_id=uuid4(), trial=1) as other,
    ):
        assert one != other and locked(one) and locked(other)
    assert len([path for path in tmp_path.iterdir() if path.name.startswith("spare-")]) == 2
    with folders.attempt(prefix="edit", edit_id=uuid4(), trial=1) as work:
        assert list(work.iterdir()) == [work / LOCK_NAME]
    folders.close()
    assert list(tmp_path.iterdir()) == []


def test_a_spare_removed_by_hand_is_replaced(tmp_path: Path) -> None:
    folders = ScratchFolders(tmp_path)
    with folders.attempt(prefix="edit", edit_id=uuid4(), trial=1):
        pass
    (spare,) = tmp_path.iterdir()
    (spare / LOCK_NAME).unlink()
    spare.rmdir()
    with folders.attempt(prefix="edit", edit_id=uuid4(), trial=1) as work:
        assert work.is_dir() and locked(work)
    folders.close()


def test_the_clean_up_leaves_a_live_spare_that_had_no_lock_file_when_it_looked(
    tmp_path: Path,
) -> None:
    """The clean-up saw `spare-x` without a lock file: its runner had renamed it away for an
    attempt, then back. Under that name now is a live spare, locked: it must survive. A spare
    that truly has no lock file goes."""
    live = tmp_path / "spare-live"
    live.mkdir()
    (live / LOCK_NAME).touch()
    lock = os.open(live / LOCK_NAME, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # its runner's lock
        (live / "kept").write_bytes(b"the runner's")
        assert _remove_lockless_spare(live) is False
        assert _remove_unless_held(live) is False
        assert (live / "kept").read_bytes() == b"the runner's"
    finally:
        os.close(lock)
    lockless = tmp_path / "spare-dead"
    (lockless / "out").mkdir(parents=True)
    assert _remove_lockless_spare(lockless) is True
    assert not lockless.exists()
    assert _remove_unless_held(live) is True  # its runner gone: removed, lock held meanwhile
    assert list(tmp_path.iterdir()) == []
