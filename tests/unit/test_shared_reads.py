"""events.Shared: subscribers asking for the same read in one generation of the events make it
once; a later generation, or a read that failed, reads anew; an asker that goes away leaves
the read to the others."""

import asyncio
from typing import Any

import pytest

from service.domain.events import Shared


class Generations:
    """Stands for EditEvents: only its generation is read."""

    generation = 0


class CountedRead:
    def __init__(self, *, fails: int = 0) -> None:
        self.started = 0
        self.fails = fails
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.started += 1
        await self.release.wait()
        if self.fails:
            self.fails -= 1
            raise ConnectionError("the database went away")
        return self.started


def shared() -> tuple[Generations, Shared[int]]:
    events = Generations()
    return events, Shared(events)  # type: ignore[arg-type]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_askers_in_one_generation_share_one_read() -> None:
    async def scenario() -> list[Any]:
        _, reads = shared()
        read = CountedRead()
        askers = [asyncio.create_task(reads.read("queue", read)) for _ in range(10)]
        await settle()
        read.release.set()
        late = await reads.read("queue", read)  # after it finished, in the same generation
        return [read.started, late, *await asyncio.gather(*askers)]

    assert asyncio.run(scenario()) == [1] + [1] * 11


def test_a_new_generation_or_another_key_reads_anew() -> None:
    async def scenario() -> tuple[int, int]:
        events, reads = shared()
        read = CountedRead()
        read.release.set()
        await reads.read("queue", read)
        await reads.read("session", read)
        events.generation += 1  # something announced since
        return await reads.read("queue", read), read.started

    assert asyncio.run(scenario()) == (3, 3)


def test_a_failed_read_fails_its_askers_and_the_next_asker_reads_again() -> None:
    async def scenario() -> tuple[list[BaseException | int], int, int]:
        _, reads = shared()
        read = CountedRead(fails=1)
        askers = [asyncio.create_task(reads.read("queue", read)) for _ in range(3)]
        await settle()
        read.release.set()
        failed = await asyncio.gather(*askers, return_exceptions=True)
        return failed, await reads.read("queue", read), read.started

    failed, again, started = asyncio.run(scenario())
    assert all(isinstance(outcome, ConnectionError) for outcome in failed)
    assert (again, started) == (2, 2)


def test_an_asker_that_goes_away_leaves_the_read_to_the_others() -> None:
    async def scenario() -> tuple[int, int]:
        _, reads = shared()
        read = CountedRead()
        leaving, staying = (asyncio.create_task(reads.read("queue", read)) for _ in range(2))
        await settle()
        leaving.cancel()
        await settle()
        read.release.set()
        with pytest.raises(asyncio.CancelledError):
            await leaving
        return await staying, read.started

    assert asyncio.run(scenario()) == (1, 1)
