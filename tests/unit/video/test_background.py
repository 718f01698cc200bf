"""Background: steps run in order on one thread of their own; the first error comes back."""

import threading
import time
from functools import partial

import pytest

from runner.engine.video.background import Background


def test_steps_run_in_order_on_another_thread_and_the_last_gives_the_result() -> None:
    seen: list[tuple[int, int]] = []
    work: Background[list[int]] = Background("test")
    for step in range(5):
        work.submit(partial(note, seen, step))
    work.finish(lambda: [step for step, _ in seen])
    assert work.result() == [0, 1, 2, 3, 4]
    assert work.done()
    assert {thread for _, thread in seen} != {threading.get_ident()}
    assert len({thread for _, thread in seen}) == 1


def note(seen: list[tuple[int, int]], step: int) -> None:
    seen.append((step, threading.get_ident()))


def test_the_first_error_comes_back_and_later_steps_are_skipped() -> None:
    ran: list[int] = []
    work: Background[int] = Background("test")
    work.submit(lambda: ran.append(1))
    work.submit(lambda: 1 / 0)
    work.submit(lambda: ran.append(3))
    work.finish(lambda: 42)
    with pytest.raises(ZeroDivisionError):
        work.result()
    assert ran == [1]


def test_its_thread_is_gone_once_the_result_is_taken() -> None:
    """A sandboxed child that kept a thread running would be replaced after the job."""
    before = threading.active_count()
    work: Background[None] = Background("test")
    work.submit(lambda: None)
    work.finish(lambda: None)
    work.result()
    assert threading.active_count() == before


def test_submit_waits_while_max_waiting_steps_are_outstanding() -> None:
    """Decoded frames wait for the encoder's thread a few at a time, not a GOP at once."""
    counts = {"submitted": 0, "finished": 0, "most": 0}

    def step() -> None:
        counts["most"] = max(counts["most"], counts["submitted"] - counts["finished"])
        time.sleep(0.002)
        counts["finished"] += 1

    work: Background[None] = Background("test", max_waiting=2)
    for _ in range(20):
        work.submit(step)
        counts["submitted"] += 1
    work.finish(lambda: None)
    work.result()
    assert counts["finished"] == 20
    assert counts["most"] <= 2
