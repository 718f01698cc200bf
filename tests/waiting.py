"""Waiting for something to become true, without sleeping a fixed guess."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL_SECONDS = 0.02


def eventually(
    check: Callable[[], T | None], *, timeout: float = 10.0, what: str = "condition"
) -> T:
    """Call check() until it returns something truthy; return that, or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; last: {result!r}"
            )
        time.sleep(POLL_SECONDS)
