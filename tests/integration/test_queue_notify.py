"""NOTIFY: runners are woken once per statement; clients see every status and progress change."""

import json
import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.queue import Conn, claim, enqueue, insert_media

QUIET_SECONDS = 0.3


@pytest.fixture
def listener(database_url: str) -> Iterator["psycopg.Connection[Any]"]:
    """A watcher of both channels, as an idle runner and a service with subscribers are."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("LISTEN editroom_queue")
        conn.execute("LISTEN editroom_edit_events")
        conn.execute("SELECT editroom.watch_queue(), editroom.watch_events()")
        yield conn


@pytest.fixture
def bystander(database_url: str) -> Iterator["psycopg.Connection[Any]"]:
    """A session that LISTENs but does not watch: no one it stands for is waiting."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("LISTEN editroom_queue")
        conn.execute("LISTEN editroom_edit_events")
        yield conn


def received(listener: "psycopg.Connection[Any]") -> list[tuple[str, str]]:
    """Everything delivered until the channel has been quiet for a moment."""
    return [(n.channel, n.payload) for n in listener.notifies(timeout=QUIET_SECONDS)]


def events(notifications: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Every edit's event, in order: a notification carries one statement's events."""
    return [
        event
        for channel, payload in notifications
        if channel == "editroom_edit_events"
        for event in json.loads(payload)
    ]


def wakeups(notifications: list[tuple[str, str]]) -> list[str]:
    return [payload for channel, payload in notifications if channel == "editroom_queue"]


def test_one_edit_life_is_reported_in_order(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '0'")
    media = insert_media(conn)
    edit_id = str(enqueue(conn, media)["id"])
    claim(conn, "w")
    conn.execute("SELECT editroom.heartbeat_edit(%s, 'w', 0.5)", [edit_id])
    conn.execute("SELECT editroom.heartbeat_edit(%s, 'w', 0.5)", [edit_id])  # no change: no event
    conn.execute("SELECT editroom.fail_edit(%s, 'w', 'flaky storage')", [edit_id])
    claim(conn, "w")
    conn.execute("SELECT editroom.heartbeat_edit(%s, 'w', 0.75)", [edit_id])
    conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])

    assert events(received(listener)) == [
        {"id": edit_id, "status": "queued", "trial": 0, "progress": None},
        {"id": edit_id, "status": "processing", "trial": 1, "progress": 0},
        {"id": edit_id, "status": "processing", "trial": 1, "progress": 0.5},
        {"id": edit_id, "status": "error", "trial": 1, "progress": 0.5},
        {"id": edit_id, "status": "processing", "trial": 2, "progress": 0},
        {"id": edit_id, "status": "processing", "trial": 2, "progress": 0.75},
        {"id": edit_id, "status": "completed", "trial": 2, "progress": 1},
    ]


def test_cancel_and_retry_are_reported(conn: Conn, listener: "psycopg.Connection[Any]") -> None:
    edit_id = str(enqueue(conn, insert_media(conn))["id"])
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    conn.execute("SELECT editroom.retry_edit(%s)", [edit_id])
    statuses = [event["status"] for event in events(received(listener))]
    assert statuses == ["queued", "cancelled", "queued"]


def test_runners_are_woken_once_per_statement_with_the_count(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    conn.execute(
        "INSERT INTO editroom.edits (media_id, ops) SELECT %s, %s FROM generate_series(1, 50)",
        [media, Jsonb([])],
    )
    notifications = received(listener)
    assert wakeups(notifications) == ["50"]
    assert len(events(notifications)) == 50


def test_a_batch_enqueued_in_one_call_wakes_runners_once(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    conn.execute(
        "SELECT 1 FROM editroom.enqueue_edits(array_fill(%s::uuid, '{30}'), '[]')", [media]
    )
    notifications = received(listener)
    assert wakeups(notifications) == ["30"]
    assert len(events(notifications)) == 30


def test_a_wake_up_counts_the_edits_of_the_lanes_watched(conn: Conn, database_url: str) -> None:
    """One statement makes 3 images and 2 imports claimable; the runner listening watches only
    the import lane (its image slots are busy): one wake-up, for the 2 imports. Watching no
    lane of them, nothing."""
    media = insert_media(conn)
    imports = [Jsonb([{"op": "import", "url": "https://example.com/a.mp4"}])] * 2

    def enqueue_both() -> None:
        with conn.transaction():
            conn.execute(
                "INSERT INTO editroom.edits (media_id, ops, kind)"
                " SELECT %s, '[]', 'image' FROM generate_series(1, 3)"
                " UNION ALL SELECT NULL, o, 'import' FROM unnest(%s::jsonb[]) AS o",
                [media, imports],
            )

    with psycopg.connect(database_url, autocommit=True) as runner:
        runner.execute("LISTEN editroom_queue")
        runner.execute("SELECT editroom.watch_channel(editroom.lane_channel('import'))")
        enqueue_both()
        assert wakeups(received(runner)) == ["2"]
        runner.execute("SELECT editroom.unwatch_channel(editroom.lane_channel('import'))")
        enqueue_both()
        assert wakeups(received(runner)) == []


def event_notifications(notifications: list[tuple[str, str]]) -> list[list[dict[str, Any]]]:
    return [json.loads(p) for channel, p in notifications if channel == "editroom_edit_events"]


def test_a_statement_sends_its_events_in_one_notification(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    # PostgreSQL serialises notifying commits cluster-wide: a claim of many edits, or a
    # heartbeat of all a runner holds, must not send one notification per edit.
    media = insert_media(conn)
    conn.execute(
        "INSERT INTO editroom.edits (media_id, ops) SELECT %s, %s FROM generate_series(1, 120)",
        [media, Jsonb([])],
    )
    assert [len(batch) for batch in event_notifications(received(listener))] == [50, 50, 20]

    claimed = [row["id"] for row in claim(conn, "w", limit=10)]
    assert [len(batch) for batch in event_notifications(received(listener))] == [10]

    conn.execute(
        "SELECT * FROM editroom.heartbeat_edits('w', %s, %s::int[], %s::real[], %s::jsonb[])",
        [claimed, [1] * 10, [0.5] * 10, [None] * 10],
    )
    (batch,) = event_notifications(received(listener))
    assert {event["progress"] for event in batch} == {0.5} and len(batch) == 10

    conn.execute(
        "SELECT * FROM editroom.heartbeat_edits('w', %s, %s::int[], %s::real[], %s::jsonb[])",
        [claimed, [1] * 10, [0.5] * 10, [None] * 10],
    )
    assert event_notifications(received(listener)) == []  # only the leases moved


def test_no_wakeup_for_work_that_is_not_claimable_yet(
    conn: Conn, listener: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    conn.execute(
        "SELECT editroom.enqueue_edit(%s, '[]', p_run_after => now() + interval '1 hour')", [media]
    )
    enqueue(conn, media)
    (row,) = claim(conn, "w")
    conn.execute("SELECT editroom.fail_edit(%s, 'w', 'try later')", [row["id"]])  # backs off
    assert wakeups(received(listener)) == ["1"]  # the plain enqueue only


def test_retry_wakes_runners(conn: Conn, listener: "psycopg.Connection[Any]") -> None:
    media = insert_media(conn)
    edit_id: UUID = enqueue(conn, media)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    received(listener)
    conn.execute("SELECT editroom.retry_edit(%s)", [edit_id])
    assert wakeups(received(listener)) == ["1"]


def test_nothing_is_notified_while_no_one_watches(
    conn: Conn, bystander: "psycopg.Connection[Any]"
) -> None:
    # Every NOTIFY serialises its commit cluster-wide: with no idle runner and no subscriber,
    # enqueue, claim, progress and completion send none.
    media = insert_media(conn)
    edit_id = enqueue(conn, media)["id"]
    claim(conn, "w")
    conn.execute("SELECT editroom.heartbeat_edit(%s, 'w', 0.5)", [edit_id])
    conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])
    other = enqueue(conn, media)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [other])
    conn.execute("SELECT editroom.retry_edit(%s)", [other])
    assert received(bystander) == []


def test_a_watcher_that_leaves_stops_the_notifications(
    conn: Conn, listener: "psycopg.Connection[Any]", bystander: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    enqueue(conn, media)
    assert len(received(bystander)) == 2  # a wake-up and an event, while the listener watches
    listener.execute("SELECT editroom.unwatch_queue()")
    enqueue(conn, media)
    assert [channel for channel, _ in received(bystander)] == ["editroom_edit_events"]
    listener.execute("SELECT editroom.unwatch_events()")
    enqueue(conn, media)
    assert received(bystander) == []
    listener.execute("SELECT editroom.watch_events(), editroom.watch_events()")  # idempotent
    listener.execute("SELECT editroom.unwatch_events()")
    enqueue(conn, media)
    assert received(bystander) == []


@pytest.mark.parametrize(
    ("statement", "status"),
    [
        ("SELECT editroom.cancel_edit(%s)", "cancelled"),
        ("SELECT editroom.fail_edit(%s, 'w', 'lease expired')", "error"),
        ("SELECT editroom.fail_edit(%s, 'w', 'broken', false)", "failed"),
        ("SELECT editroom.release_edit(%s, 'w')", "queued"),
    ],
)
def test_a_running_edit_taken_from_its_runner_is_always_notified(
    conn: Conn, bystander: "psycopg.Connection[Any]", statement: str, status: str
) -> None:
    # Its runner stops working on it at once (runners do not watch events).
    edit_id = str(enqueue(conn, insert_media(conn))["id"])
    claim(conn, "w")
    received(bystander)
    conn.execute(statement, [edit_id])
    assert [e["status"] for e in events(received(bystander))] == [status]


def test_a_completion_is_not_notified_while_no_one_watches(
    conn: Conn, bystander: "psycopg.Connection[Any]"
) -> None:
    edit_id = str(enqueue(conn, insert_media(conn))["id"])
    claim(conn, "w")
    received(bystander)
    conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])
    assert received(bystander) == []


def test_a_watcher_arriving_mid_transaction_waits_for_it_and_then_sees_its_edit(
    conn: Conn, database_url: str, bystander: "psycopg.Connection[Any]"
) -> None:
    media = insert_media(conn)
    with psycopg.connect(database_url) as writer:  # a transaction left open
        writer.execute(
            "SELECT editroom.enqueue_edit(%s, '[]')", [media]
        )  # no one watches: it takes its wake slot and skips the NOTIFY
        watched = threading.Event()

        def watch() -> None:
            bystander.execute("SELECT editroom.watch_queue()")
            watched.set()

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert not watched.wait(0.3)  # held back by the open transaction
        writer.commit()
        watcher.join(5)
    assert watched.is_set()
    assert len(claim(conn, "w")) == 1  # the watcher's claim, after its watch, finds the edit
    assert wakeups(received(bystander)) == []
