"""Placeholder until the video pipeline lands from its branch (it replaces this file)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from uuid import UUID

from runner.ops.base import EditFailed, Limits, Operation, Progress


def edit_video(
    source: Path,
    operations: Sequence[Operation],
    *,
    out_dir: Path,
    limits: Limits,
    progress: Progress,
    others: Mapping[UUID, Path],
) -> list[Path]:
    raise EditFailed("video editing is not available in this build")
