"""How many of one thing the service does at once (upload bodies, event streams): each holds
files, sockets or database work for as long as its client likes, and there are no accounts
to share them out by. Taken and given back on the one event loop, so no lock is needed."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Slots:
    """At most `limit` taken at once; one more raises what `refusal(limit)` makes (a 503 to
    try again: an Unavailable)."""

    def __init__(self, limit: int, *, refusal: Callable[[int], Exception]) -> None:
        self.limit = limit
        self.taken = 0
        self._refusal = refusal

    def take(self) -> None:
        if self.taken >= self.limit:
            raise self._refusal(self.limit)
        self.taken += 1

    def give_back(self) -> None:
        self.taken -= 1

    @contextmanager
    def held(self) -> Iterator[None]:
        self.take()
        try:
            yield
        finally:
            self.give_back()
