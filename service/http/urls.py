"""Absolute URLs the API hands out start with EDITROOM_PUBLIC_URL, never with the Host a
request came with (a Host is the client's to choose: copied into URLs, it lets a forged one
point uploads and downloads elsewhere). The security middleware sets the base per request."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_BASE_URL: ContextVar[str] = ContextVar("editroom_base_url", default="")


def absolute(path: str) -> str:
    """`path` (from the root, e.g. /bucket/upload/ID/content) on the public URL; outside a
    request, the path as it is."""
    return f"{_BASE_URL.get()}{path}"


@contextmanager
def served_at(base_url: str) -> Iterator[None]:
    token = _BASE_URL.set(base_url)
    try:
        yield
    finally:
        _BASE_URL.reset(token)
