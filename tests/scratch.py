"""What edit attempts left in a work directory."""

from pathlib import Path

from service.domain.scratch import LOCK_NAME, SPARE_PREFIX


def left_behind(work: Path) -> list[Path]:
    """Every file and folder under `work` but a runner's spare folders (kept for its next
    attempts) as they wait: locked, holding nothing but empty folders."""
    if not work.exists():
        return []
    return sorted(path for path in work.rglob("*") if not _waiting_spare(path, work))


def _waiting_spare(path: Path, work: Path) -> bool:
    parts = path.relative_to(work).parts
    if not parts[0].startswith(SPARE_PREFIX):
        return False
    if len(parts) == 1 or parts[1:] == (LOCK_NAME,):
        return True
    return path.is_dir() and all(inside.is_dir() for inside in path.rglob("*"))
