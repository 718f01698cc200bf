"""The SQL functions monitoring reads (postgres_exporter's queries.yaml), against real rows."""

import time
from datetime import UTC, datetime, timedelta
from uuid import UUID

import psycopg
import pytest
from psycopg.types.json import Jsonb

from runner.process.metrics import KINDS, UNKNOWN_KIND
from service.kernel.db import QUERIES
from tests.queue import Conn, claim, enqueue, insert_media


@pytest.fixture
def media(conn: Conn) -> UUID:
    return insert_media(conn)


def oldest_claimable(conn: Conn) -> float:
    row = conn.execute("SELECT editroom.oldest_claimable_seconds() AS s").fetchone()
    assert row is not None
    return float(row["s"])


def test_oldest_claimable_counts_only_what_a_runner_could_take_now(conn: Conn, media: UUID) -> None:
    assert oldest_claimable(conn) == 0
    now = datetime.now(UTC)
    enqueue(conn, media, run_after=now + timedelta(hours=1))  # delayed: not claimable yet
    assert oldest_claimable(conn) == 0
    enqueue(conn, media, run_after=now - timedelta(minutes=10))
    assert 600 <= oldest_claimable(conn) < 660
    claim(conn, "w")  # it is processing now
    assert oldest_claimable(conn) == 0


def test_attempt_quantiles_cover_recent_attempts_by_kind_and_outcome(
    conn: Conn, media: UUID
) -> None:
    for _ in range(3):
        enqueue(conn, media)
    claimed = [row["id"] for row in claim(conn, "w", limit=3)]
    for edit_id in claimed[:2]:
        conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])
    conn.execute("SELECT editroom.fail_edit(%s, 'w', 'broken', false)", [claimed[2]])
    rows = conn.execute(
        "SELECT kind, outcome, quantile, seconds FROM editroom.attempt_duration_quantiles()"
    ).fetchall()
    assert [(r["kind"], r["outcome"], r["quantile"]) for r in rows] == [
        ("image", outcome, q) for outcome in ("completed", "failed") for q in (0.5, 0.95, 0.99)
    ]
    assert all(0 <= row["seconds"] < 60 for row in rows)
    # Older than the window: nothing.
    assert (
        conn.execute(
            "SELECT * FROM editroom.attempt_duration_quantiles(interval '0 seconds')"
        ).fetchall()
        == []
    )


def test_imports_and_edits_of_deleted_media_are_labelled_as_the_runner_labels_them(
    conn: Conn, media: UUID
) -> None:
    doomed = insert_media(conn)
    conn.execute(
        "SELECT editroom.enqueue_import(%s)",
        [Jsonb({"op": "import", "url": "https://example.com/clip.mp4"})],
    )
    enqueue(conn, media)
    enqueue(conn, doomed)
    # The runner's own claim (service/kernel/queries.sql), whose kind labels its metrics and logs.
    claimed = conn.execute(
        QUERIES["claim_edits"],
        {
            "worker": "w",
            "kinds": ["image", "import"],
            "limits": [2, 1],
            "lease": timedelta(minutes=5),
        },
    ).fetchall()
    assert sorted(row["kind"] for row in claimed) == ["image", "image", "import"]
    for row in claimed:
        conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [row["id"]])
    conn.execute("SELECT editroom.delete_media(%s)", [doomed])
    kinds = conn.execute(
        "SELECT DISTINCT kind FROM editroom.attempt_duration_quantiles() ORDER BY kind"
    ).fetchall()
    # An attempt keeps the kind it was claimed (and labelled by the runner) with, even once its
    # media is deleted: quantiles read attempts alone, not today's edits and media.
    assert [row["kind"] for row in kinds] == ["image", "import"]
    counts = conn.execute(
        "SELECT kind, count(*) AS n FROM editroom.edit_attempts GROUP BY kind ORDER BY kind"
    ).fetchall()
    assert counts == [{"kind": "image", "n": 2}, {"kind": "import", "n": 1}]
    assert {row["kind"] for row in kinds} <= {*KINDS, UNKNOWN_KIND}  # the runner's labels


def test_media_totals_list_every_kind_and_only_stored_media(conn: Conn, media: UUID) -> None:
    conn.execute("SELECT editroom.create_pending_media('later.mp4', 1000, interval '1 hour')")
    rows = conn.execute("SELECT kind, media, bytes FROM editroom.media_totals()").fetchall()
    assert rows == [
        {"kind": "image", "media": 1, "bytes": 1},  # tests.queue.insert_media's one byte
        {"kind": "video", "media": 0, "bytes": 0},
    ]


def test_a_session_step_waiting_for_an_earlier_one_is_not_waiting_for_a_runner(
    conn: Conn, media: UUID
) -> None:
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [media]).fetchone()
    assert session is not None
    first = enqueue(conn, None, [{"op": "trim"}], session_id=session["id"])
    second = enqueue(conn, None, [{"op": "format"}], session_id=session["id"])
    assert [row["id"] for row in claim(conn, "w")] == [first["id"]]
    # The first step is a long video: the second has sat behind it for 20 minutes.
    conn.execute(
        "UPDATE editroom.edits SET created_at = created_at - interval '20 minutes',"
        " run_after = run_after - interval '20 minutes' WHERE id = ANY(%s)",
        [[first["id"], second["id"]]],
    )
    assert claim(conn, "other") == []
    assert oldest_claimable(conn) == 0  # a healthy queue: EditroomOldestQueuedTooOld stays quiet
    conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [first["id"]])
    assert oldest_claimable(conn) > 0  # now a runner could take it
    assert [row["id"] for row in claim(conn, "other")] == [second["id"]]


def test_a_listener_that_stops_reading_shows_in_the_notification_queue_usage(
    conn: Conn, database_url: str
) -> None:
    def health() -> dict[str, float]:
        row = conn.execute("SELECT * FROM editroom.database_health()").fetchone()
        assert row is not None
        return dict(row)

    with psycopg.connect(database_url, autocommit=True) as stalled:
        stalled.execute("LISTEN editroom_edit_events")  # and never reads again
        with psycopg.connect(database_url) as sender:
            for _ in range(200):
                sender.execute("SELECT pg_notify('editroom_edit_events', repeat('x', 7000))")
                sender.commit()
            sender.execute("SELECT 1")  # a transaction left open
            time.sleep(1.1)
            now = health()
    assert now["notification_queue_usage"] > 0
    assert now["oldest_transaction_seconds"] >= 1
