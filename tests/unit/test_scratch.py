"""A runner's scratch folders: each attempt works in a folder named after it, locked, empty;
a finished attempt's folder is emptied and kept, locked, for the next one (making folders and
files is what costs on some disks), and removed when the runner stops."""

import fcntl
import os
from pathlib import Path
from uuid import uuid4

from service.domain.scratch import LOCK_NAME, ScratchFolders


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
