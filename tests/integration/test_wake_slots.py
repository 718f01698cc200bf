"""Wake slots on real connections: statements notify only while someone watches, and a watcher
arriving at any moment misses nothing (db/functions/040_edit_triggers.sql says why)."""

import asyncio
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from runner.process.execute import ClaimedEdit, ReportProgress
from service.domain import events as events_module
from service.domain.edits import Edits
from service.domain.events import EditEvents
from service.kernel.db import Database, WakeSlots
from service.kernel.errors import DatabaseUnavailable
from service.kernel.metrics import ServiceMetrics
from service.kernel.settings import Settings
from tests.queue import Conn, disable_backoff, insert_media, status_counts
from tests.runner_harness import running_runner
from tests.waiting import eventually

SLOW_POLL_SECONDS = 30.0  # a lost wake-up would cost this long: far past every bound below
PROMPT_SECONDS = 1.0  # from enqueue to claim, or from completion to a waiter's answer
ENQUEUERS = 3
EDITS_EACH = 40
EDITS = 150


def slow_polling(
    database_url: str, tmp_path: Path, *, video: int = 1, imports: int = 2
) -> Settings:
    """A runner's settings where a lost wake-up would cost SLOW_POLL_SECONDS."""
    return Settings(
        database_url=database_url, data_dir=tmp_path, runner_name="idle-runner",
        poll_interval_seconds=SLOW_POLL_SECONDS, lease_seconds=30,
        runner_video_slots=video, runner_import_slots=imports,
    )  # fmt: skip


def test_enqueues_racing_a_runner_going_idle_each_wake_it_at_once(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    # Each edit is enqueued 0-4 ms after the runner finished the one before: while it
    # completes it, makes its empty claim, takes the wake slots, claims once more, or waits.
    # Whichever: it must be claimed at once, not at the next poll.
    disable_backoff(conn)
    media = insert_media(conn)
    settings = slow_polling(database_url, tmp_path)
    finished = threading.Event()

    async def done(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        finished.set()
        return []

    pause = random.Random(15)
    with running_runner(settings, execute=done, concurrency=1):
        time.sleep(0.2)  # idle, watching
        for _ in range(EDITS):
            finished.clear()
            conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
            assert finished.wait(PROMPT_SECONDS), "an idle runner was not woken"
            time.sleep(pause.uniform(0, 0.004))
        eventually(lambda: status_counts(conn)["completed"] == EDITS, what="every edit")
    row = conn.execute(
        "SELECT max(started_at - created_at) AS slowest FROM editroom.edits"
    ).fetchone()
    assert row is not None and row["slowest"].total_seconds() < PROMPT_SECONDS


def test_enqueues_from_many_sessions_racing_a_runner_lose_no_wake_up(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    disable_backoff(conn)
    media = insert_media(conn)
    settings = slow_polling(database_url, tmp_path)

    async def done(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        return []

    with running_runner(settings, execute=done, concurrency=2):
        threads = [
            threading.Thread(target=enqueue_in_bursts, args=(database_url, media, seed))
            for seed in range(ENQUEUERS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        eventually(
            lambda: status_counts(conn)["completed"] == ENQUEUERS * EDITS_EACH,
            timeout=SLOW_POLL_SECONDS / 3, what="every edit completed without a poll",
        )  # fmt: skip


def enqueue_in_bursts(database_url: str, media: UUID, seed: int) -> None:
    """EDITS_EACH enqueues, each a transaction, 0-15 ms apart."""
    pause = random.Random(seed)
    with psycopg.connect(database_url, autocommit=True) as writer:
        for _ in range(EDITS_EACH):
            writer.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
            time.sleep(pause.uniform(0, 0.015))


@contextmanager
def holding_runner(
    database_url: str, tmp_path: Path, release: threading.Event, *, video: int, imports: int
) -> Iterator["psycopg.Connection[Any]"]:
    """A runner with one image slot whose edits run until `release` is set (polling only
    every SLOW_POLL_SECONDS), and a session LISTENing to editroom_queue beside it."""
    settings = slow_polling(database_url, tmp_path, video=video, imports=imports)

    async def held(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        while not release.is_set():
            await asyncio.sleep(0.01)
        return []

    with (
        psycopg.connect(database_url, autocommit=True) as bystander,
        running_runner(settings, execute=held, concurrency=1),
    ):
        bystander.execute("LISTEN editroom_queue")
        yield bystander


def test_a_runner_watches_the_queue_only_while_it_waits_for_work(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    disable_backoff(conn)
    media = insert_media(conn)
    release = threading.Event()
    # One slot in all: busy with one edit.
    with holding_runner(database_url, tmp_path, release, video=0, imports=0) as bystander:
        eventually(lambda: watchers(conn) == 1, what="the idle runner to watch")
        conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
        assert [n.channel for n in bystander.notifies(timeout=0.5)] == ["editroom_queue"]
        eventually(lambda: watchers(conn) == 0, what="the busy runner to stop watching")
        conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])  # no one to wake
        assert list(bystander.notifies(timeout=0.5)) == []
        release.set()
        eventually(lambda: status_counts(conn)["completed"] == 2, what="both edits")
        eventually(lambda: watchers(conn) == 1, what="the idle runner to watch again")


def test_a_busy_lane_stops_its_kind_notifying_while_the_other_lanes_watch(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    """One image slot, busy; two import slots, free: image edits queued meanwhile send no
    NOTIFY (no one could act on it), an import does (nearly every enqueue notified while a
    runner watched the queue whole, its video and import slots nearly always free)."""
    disable_backoff(conn)
    media = insert_media(conn)
    release = threading.Event()
    with holding_runner(database_url, tmp_path, release, video=0, imports=2) as bystander:
        eventually(lambda: watchers(conn) == 1, what="the idle runner to watch images")
        conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
        eventually(lambda: watchers(conn) == 0, what="the image lane, full, to be let go")
        assert watchers(conn, "editroom_queue:import") == 1
        list(bystander.notifies(timeout=0.3))  # the first edit's wake-up
        conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
        assert list(bystander.notifies(timeout=0.5)) == []
        conn.execute(
            "SELECT editroom.enqueue_import(%s)",
            [Jsonb({"op": "import", "url": "https://example.com/a.mp4"})],
        )
        assert [n.payload for n in bystander.notifies(timeout=0.5)] == ["1"]
        release.set()


def test_a_lane_held_up_by_an_open_transaction_leaves_the_other_watches_standing(
    conn: Conn, database_url: str
) -> None:
    """A writer's transaction left open holds its slot of the image lane: watching that lane
    gives up after WATCH_LOCK_TIMEOUT_MS, lets go of what it took, and the video lane,
    watched already on the same session, stays watched. Once the writer commits, the image
    lane is watched too."""
    media = insert_media(conn)

    async def run() -> tuple[set[str], int, int, set[str]]:
        slots = WakeSlots(database_url)
        try:
            await slots.watch("editroom_queue:video")
            with psycopg.connect(database_url) as writer:  # a transaction, left open
                writer.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
                with pytest.raises(DatabaseUnavailable):
                    await slots.watch("editroom_queue:image")
                after_timeout = set(slots.watching)
                video, image = watchers(conn, "editroom_queue:video"), held_slots(conn)
                writer.commit()
            await slots.watch("editroom_queue:image")
            return after_timeout, video, image, set(slots.watching)
        finally:
            await slots.close()

    after_timeout, video, image, at_last = asyncio.run(run())
    assert after_timeout == {"editroom_queue:video"}
    assert video == 1  # the session and its other watch live
    assert image == 0  # what the cut-short watch had taken was let go
    assert at_last == {"editroom_queue:video", "editroom_queue:image"}


def held_slots(conn: Conn, channel: str = "editroom_queue:image") -> int:
    """Slots of the channel held shared by anyone."""
    row = conn.execute(
        """SELECT count(*) AS n FROM pg_locks
            WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted
              AND classid = editroom.wake_key(%s)::oid AND objsubid = 2""",
        [channel],
    ).fetchone()
    assert row is not None
    return int(row["n"])


def watchers(conn: Conn, channel: str = "editroom_queue:image") -> int:
    """Sessions holding every wake slot of the channel (by default, the image lane's)."""
    row = conn.execute(
        """SELECT count(*) AS n FROM (
               SELECT pid FROM pg_locks
                WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted
                  AND classid = editroom.wake_key(%s)::oid AND objsubid = 2
                GROUP BY pid HAVING count(*) = editroom.wake_slot_count()) AS w""",
        [channel],
    ).fetchone()
    assert row is not None
    return int(row["n"])


@pytest.fixture
def quick_unwatch(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service lets go of its watch as soon as a waiter leaves, so that each waiter below
    arrives to a service that is not watching."""
    monkeypatch.setattr(events_module, "UNWATCH_AFTER_SECONDS", 0.0)
    monkeypatch.setattr(events_module, "WATCH_CHECK_SECONDS", 0.005)


async def complete_soon(
    writer: "psycopg.AsyncConnection[Any]", edit_id: UUID, delay: float
) -> None:
    await asyncio.sleep(delay)
    await writer.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])


async def claimed_edit(writer: "psycopg.AsyncConnection[Any]", media: UUID) -> UUID:
    await writer.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
    cursor = await writer.execute("SELECT id FROM editroom.claim_edits('w', 1)")
    row = await cursor.fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def test_waiters_and_followers_arriving_as_edits_complete_miss_nothing(
    conn: Conn, database_url: str, quick_unwatch: None
) -> None:
    media = insert_media(conn)

    async def run() -> list[float]:
        async with (
            Database.connect(database_url) as database,
            await psycopg.AsyncConnection.connect(
                database_url, autocommit=True, row_factory=dict_row
            ) as writer,
        ):
            events = EditEvents(database)
            edits = Edits(database=database, events=events, settings=Settings(),
                          metrics=ServiceMetrics())  # fmt: skip
            await events.start()
            await asyncio.wait_for(events.connected.wait(), 10)
            pause = random.Random(7)
            answered: list[float] = []
            last: dict[str, Any] = {}
            for round_ in range(40):
                await asyncio.sleep(0.02)  # the last waiter's watch is let go meanwhile
                edit_id = await claimed_edit(writer, media)
                completing = asyncio.create_task(
                    complete_soon(writer, edit_id, pause.uniform(0, 0.01))
                )
                started = time.monotonic()
                if round_ % 2:
                    last = await edits.wait(edit_id, SLOW_POLL_SECONDS)
                else:
                    async for told in edits.follow(edit_id):
                        assert told is not None  # no keep-alive: it finished at once
                        last = told
                assert last["status"] == "completed"
                answered.append(time.monotonic() - started)
                await completing
            await events.stop()
            return answered

    answered = asyncio.run(run())
    assert max(answered) < PROMPT_SECONDS


def test_the_service_watches_events_only_while_someone_subscribes(
    conn: Conn, database_url: str, quick_unwatch: None
) -> None:
    media = insert_media(conn)

    async def run() -> None:
        async with Database.connect(database_url) as database:
            events = EditEvents(database)
            await events.start()
            await asyncio.wait_for(events.connected.wait(), 10)
            assert watchers(conn, "editroom_edit_events") == 0
            async with events.subscribe_all(media=True):
                assert watchers(conn, "editroom_edit_events") == 1
                conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
            await asyncio.sleep(0.2)
            assert watchers(conn, "editroom_edit_events") == 0
            await events.stop()

    asyncio.run(run())


EDITS_CHANNEL, MEDIA_CHANNEL = "editroom_edit_events", "editroom_media_events"
LULL_SECONDS = 0.6  # UNWATCH_AFTER_SECONDS below: a channel's watch outlives its last subscriber


@pytest.fixture
def lull(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_module, "UNWATCH_AFTER_SECONDS", LULL_SECONDS)
    monkeypatch.setattr(events_module, "WATCH_CHECK_SECONDS", 0.02)


@pytest.fixture
def media_listener(database_url: str) -> Iterator["psycopg.Connection[Any]"]:
    """A session that LISTENs to the library's channel without watching it: it hears an
    upload only while someone watches."""
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {MEDIA_CHANNEL}")
        yield listener


def watched_channels(conn: Conn) -> tuple[int, int]:
    """How many sessions watch the edits' channel and the library's."""
    return watchers(conn, EDITS_CHANNEL), watchers(conn, MEDIA_CHANNEL)


def heard_an_upload(conn: Conn, listener: "psycopg.Connection[Any]") -> bool:
    insert_media(conn)
    return bool(list(listener.notifies(timeout=0.3)))


def test_waiting_for_an_edit_leaves_uploads_unnotified(
    conn: Conn, database_url: str, media_listener: "psycopg.Connection[Any]", lull: None
) -> None:
    """A `?wait=` request, an edit's stream, or a session's `/events` has the edits' channel
    watched, not the library's: an upload's commit sends no NOTIFY (it would take the
    cluster-wide notify lock for no one). A feed of the library's changes has it watched,
    until LULL_SECONDS after the last such feed left, while the edits' stays watched."""

    async def run() -> None:
        async with Database.connect(database_url) as database:
            events = EditEvents(database)
            await events.start()
            await asyncio.wait_for(events.connected.wait(), 10)
            async with events.subscribe(uuid4()):  # a `?wait=` request, an edit's stream
                assert watched_channels(conn) == (1, 0)
                assert not heard_an_upload(conn, media_listener)
                async with events.subscribe_all(media=False):  # a session's /events
                    assert watched_channels(conn) == (1, 0)
                    assert not heard_an_upload(conn, media_listener)
                async with events.subscribe_all(media=True) as feed:  # the library's
                    assert watched_channels(conn) == (1, 1)
                    assert heard_an_upload(conn, media_listener)
                    await asyncio.wait_for(feed.changed.wait(), PROMPT_SECONDS)
                    assert feed.take_media() != []
                await asyncio.sleep(LULL_SECONDS / 4)
                assert watched_channels(conn) == (1, 1)  # the lull after the library's feed
                await asyncio.sleep(LULL_SECONDS)
                assert watched_channels(conn) == (1, 0)
                assert not heard_an_upload(conn, media_listener)
            await events.stop()

    asyncio.run(run())


def test_a_lost_watch_session_is_taken_again_for_the_channels_still_wanted(
    conn: Conn, database_url: str, lull: None
) -> None:
    """The watch's session dies (its locks with it): the channels a subscriber still wants
    are watched again and their subscribers look again, as after a lost LISTEN; the
    library's is not taken again for a waiter alone."""

    async def run() -> list[Any]:
        seen: list[Any] = []
        async with Database.connect(database_url) as database:
            events = EditEvents(database)
            await events.start()
            await asyncio.wait_for(events.connected.wait(), 10)
            async with events.subscribe(uuid4()) as waiter:
                async with events.subscribe_all(media=True) as feed:
                    feed.take(), waiter.take()  # news of earlier tests' edits, if any
                    end_watch_session(conn)
                    # Watched again, then woken, in one step of the loop: woken alone, a
                    # feed was told of an edit (another test's, committing late).
                    await until(
                        lambda: feed.changed.is_set() and watched_channels(conn) != (0, 0),
                        "the feed to look again",
                    )
                    seen += [watched_channels(conn), feed.take()[1], waiter.take() == []]
                await asyncio.sleep(LULL_SECONDS * 2)
                waiter.take()
                end_watch_session(conn)
                await until(
                    lambda: waiter.changed.is_set() and watched_channels(conn) != (0, 0),
                    "the waiter to look again",
                )
                seen += [watched_channels(conn), waiter.take() == []]
            await events.stop()
        return seen

    assert asyncio.run(run()) == [(1, 1), True, True, (1, 0), True]


def end_watch_session(conn: Conn) -> None:
    """Terminate the session that holds the edits' channel's slots (the service's watch)."""
    row = conn.execute(
        """SELECT count(pg_terminate_backend(pid)) AS n FROM (
               SELECT DISTINCT pid FROM pg_locks
                WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted
                  AND classid = editroom.wake_key(%s)::oid AND objsubid = 2) AS w""",
        [EDITS_CHANNEL],
    ).fetchone()
    assert row is not None and row["n"] == 1
    eventually(lambda: watchers(conn, EDITS_CHANNEL) == 0, what="the watch's locks to go")


async def until(check: Callable[[], bool], what: str) -> None:
    """As `eventually`, for a check made while the service's loop runs."""
    deadline = time.monotonic() + PROMPT_SECONDS * 5
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture
def open_writer(conn: Conn, database_url: str) -> Iterator["psycopg.Connection[Any]"]:
    """A transaction that changed edits while no one watched, left open: it holds its wake
    slot (of both channels) until it ends."""
    media = insert_media(conn)
    with psycopg.connect(database_url) as writer:
        writer.execute("SELECT editroom.enqueue_edit(%s, '[]')", [media])
        yield writer
        writer.rollback()


def test_a_transaction_left_open_does_not_stall_an_idle_runner(
    conn: Conn, database_url: str, tmp_path: Path, open_writer: "psycopg.Connection[Any]"
) -> None:
    # The runner cannot take every slot while the writer holds one: it polls meanwhile.
    disable_backoff(conn)
    settings = Settings(
        database_url=database_url, data_dir=tmp_path, runner_name="idle-runner",
        poll_interval_seconds=0.3, lease_seconds=30,
    )  # fmt: skip

    async def done(claimed: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        return []

    with running_runner(settings, execute=done, concurrency=1):
        time.sleep(0.5)
        conn.execute("SELECT editroom.enqueue_edit(%s, '[]')", [insert_media(conn)])
        eventually(
            lambda: status_counts(conn)["completed"] == 1, timeout=3, what="the edit, by a poll"
        )


def test_a_transaction_left_open_does_not_stall_a_waiter(
    conn: Conn, database_url: str, open_writer: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)

    async def run() -> dict[str, Any]:
        async with (
            Database.connect(database_url) as database,
            await psycopg.AsyncConnection.connect(
                database_url, autocommit=True, row_factory=dict_row
            ) as writer,
        ):
            events = EditEvents(database)
            edits = Edits(database=database, events=events, settings=Settings(),
                          metrics=ServiceMetrics())  # fmt: skip
            await events.start()
            await asyncio.wait_for(events.connected.wait(), 10)
            edit_id = await claimed_edit(writer, media)
            completing = asyncio.create_task(complete_soon(writer, edit_id, 0.3))
            row = await asyncio.wait_for(edits.wait(edit_id, SLOW_POLL_SECONDS), 3)
            await completing
            await events.stop()
            return row

    assert asyncio.run(run())["status"] == "completed"


def test_the_wake_check_is_inlined_into_the_triggers_queries(conn: Conn) -> None:
    """Every enqueue asks twice whether someone watches (its lane, and the events): a call of
    a SQL function of its own (a pinned search_path stops inlining) cost ~55 us each."""
    row = conn.execute(
        "EXPLAIN (VERBOSE, FORMAT JSON) SELECT editroom.watched(editroom.lane_channel('image'))"
    ).fetchone()
    assert row is not None
    output = row["QUERY PLAN"][0]["Plan"]["Output"][0]
    assert output.startswith("(NOT pg_try_advisory_xact_lock("), output
