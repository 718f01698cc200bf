"""A sandbox job that imports nothing itself: it says what the child serving it had imported
and rehearsed before its first job (the forkserver's preload, and the child's own start)."""

import sys
from collections.abc import Callable


def imported(*, progress: Callable[[float], None]) -> list[str]:
    return sorted(sys.modules)


def rehearsed(*, progress: Callable[[float], None]) -> tuple[str, ...]:
    preload = sys.modules.get("runner.engine.preload")
    return tuple(getattr(preload, "REHEARSED", ()))
