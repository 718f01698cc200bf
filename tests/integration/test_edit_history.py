"""Finished edits leave the queue table for edit_history (partitioned by day of finish), with
their attempts; every API path still reads them, retry brings one back, and retention drops
whole days. The scale side (buffers read, plans) is in test_edit_history_plans.py."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import errors

from service.kernel import migrations
from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.paging import every_page, ids
from tests.queue import Conn, claim, disable_backoff, enqueue, insert_media, status_counts
from tests.runner_harness import running_runner
from tests.waiting import eventually


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


@pytest.fixture
def api(settings: Settings, conn: Conn) -> Iterator[Api]:
    disable_backoff(conn)
    with running_api(settings) as running:
        yield running


def archive(conn: Conn, older_than: str = "0 seconds", limit: int = 1000) -> int:
    row = conn.execute(
        "SELECT editroom.archive_finished_edits(%s::interval, %s) AS n", [older_than, limit]
    ).fetchone()
    assert row is not None
    return int(row["n"])


def prune(conn: Conn, older_than: str) -> int:
    row = conn.execute(
        "SELECT editroom.prune_finished_edits(%s::interval) AS n", [older_than]
    ).fetchone()
    assert row is not None
    return int(row["n"])


def where(conn: Conn, edit_id: Any) -> list[str]:
    """The tables edit_id is in: exactly one of edits and edit_history, always."""
    rows = conn.execute(
        """SELECT 'edits' AS t FROM editroom.edits WHERE id = %(id)s
           UNION ALL SELECT 'history' FROM editroom.edit_history WHERE id = %(id)s""",
        {"id": edit_id},
    ).fetchall()
    return [row["t"] for row in rows]


def counted(conn: Conn) -> dict[str, int]:
    """count(*) of every edit there is, by status, zeros included."""
    rows = conn.execute(
        """SELECT s.status::text AS status, count(a.id) AS n
             FROM unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
             LEFT JOIN editroom.all_edits a ON a.status = s.status GROUP BY s.status"""
    ).fetchall()
    return {row["status"]: row["n"] for row in rows}


def test_history_has_the_columns_of_edits_in_the_same_order(conn: Conn) -> None:
    # Rows move between the two with INSERT ... SELECT *: a column added to one only breaks it.
    query = """SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute
                WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped
                ORDER BY attnum"""
    edits = conn.execute(query, ["editroom.edits"]).fetchall()
    assert conn.execute(query, ["editroom.edit_history"]).fetchall() == edits
    assert conn.execute(query, ["editroom.all_edits"]).fetchall() == edits


def test_an_archived_edit_is_read_by_every_api_path(
    api: Api, settings: Settings, conn: Conn
) -> None:
    picture = api.upload(media.image_bytes("PNG", size=(64, 48))).json()
    params = {"media": picture["id"], "resize": "32x", "format": "png"}
    flow = api.client.post("/workflows?name=small&flip=h").json()
    with running_runner(settings):
        done = api.client.post("/edit", params={**params, "wait": "30"}).json()
        failed = api.client.post(
            "/edit", params={"media": picture["id"], "headshot": "", "wait": "30"}
        ).json()
        run = api.client.post(flow["url"] + "/run", params={"media": picture["id"], "wait": "30"})
    assert (done["status"], failed["status"], run.json()["status"]) == (
        "completed", "failed", "completed",
    )  # fmt: skip
    queued = api.client.post("/edit", params={"media": picture["id"], "rotate": "90"}).json()

    assert archive(conn) == 3
    assert [where(conn, e["id"]) for e in (done, failed, run.json(), queued)] == [
        ["history"], ["history"], ["history"], ["edits"],
    ]  # fmt: skip

    got = api.client.get(done["url"])
    assert (got.status_code, got.json()["status"], got.json()["outputs"]) == (
        200, "completed", done["outputs"],
    )  # fmt: skip
    # Its result still says where it came from (a foreign key would have set it to NULL).
    result_media = api.client.get(done["outputs"][0]["url"]).json()
    assert result_media["source_edit_id"] == done["id"]
    newest_first = [queued["id"], run.json()["id"], failed["id"], done["id"]]
    assert ids(every_page(api.client, "/edit", limit=1)) == newest_first
    assert ids(every_page(api.client, "/edit", media=picture["id"], limit=3)) == newest_first
    assert ids(every_page(api.client, "/edit", status="failed")) == [failed["id"]]
    executions = api.client.get(flow["executions_url"]).json()
    assert [e["id"] for e in executions["items"]] == [run.json()["id"]]
    assert executions["counts"]["completed"] == 1
    assert api.client.get("/edit/stats").json() == [
        {"status": s, "count": n} for s, n in counted(conn).items()
    ]

    # The same edit again is the archived one, by POST /edit and by its result's address.
    again = api.client.post("/edit", params=params)
    assert (again.status_code, again.json()["id"], again.json()["reused"]) == (
        200, done["id"], True,
    )  # fmt: skip
    result = api.client.get(f"/media/{picture['id']}/resize=32x&format=png")
    assert (result.status_code, result.headers["content-type"]) == (200, "image/png")

    # Finished for good unless retried: cancelling it is refused as for any finished edit.
    refused = api.client.delete(done["url"])
    assert (refused.status_code, "no longer be cancelled" in refused.json()["detail"]) == (
        409, True,
    )  # fmt: skip

    attempts = conn.execute(
        "SELECT trial, outcome::text, kind FROM editroom.edit_attempt_history WHERE edit_id = %s",
        [failed["id"]],
    ).fetchall()
    assert attempts == [{"trial": 1, "outcome": "failed", "kind": "image"}]
    # No face to find fails alike: retry refuses it, and it stays archived.
    assert api.client.get(failed["url"]).json()["retryable"] is False
    assert api.client.post(f"{failed['url']}/retry").status_code == 409
    assert where(conn, failed["id"]) == ["history"]
    # A DBA who replaced its source clears the runner's verdict: then it comes back to run.
    conn.execute(
        "UPDATE editroom.edit_history SET fails_alike = false WHERE id = %s", [failed["id"]]
    )
    assert api.client.get(failed["url"]).json()["retryable"] is True
    retried = api.client.post(f"{failed['url']}/retry")
    assert (retried.status_code, retried.json()["status"]) == (200, "queued")
    assert where(conn, failed["id"]) == ["edits"]
    back = conn.execute(
        "SELECT trial, outcome::text FROM editroom.edit_attempts WHERE edit_id = %s",
        [failed["id"]],
    ).fetchall()
    assert back == [{"trial": 1, "outcome": "failed"}]
    assert status_counts(conn) == counted(conn)


def test_the_runners_housekeeping_archives_and_prunes(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    source = insert_media(conn)
    made = [enqueue(conn, source)["id"] for _ in range(5)]
    for edit_id in made:
        conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    conn.execute(
        "UPDATE editroom.edits SET finished_at = now() - interval '40 days' WHERE id = %s",
        [made[0]],
    )
    settings = quick_settings(
        database_url, tmp_path, reap_interval_seconds=0.2, edit_archive_after_seconds=0.0,
        edit_archive_batch=2, edit_retention_days=30.0,
    )  # fmt: skip
    with running_runner(settings):
        eventually(
            lambda: [where(conn, e) for e in made] == [[]] + [["history"]] * 4,
            what="four edits archived in batches of two, the 40-day-old one archived and pruned",
        )
    assert status_counts(conn) == counted(conn)
    assert counted(conn)["cancelled"] == 4


def test_retention_drops_whole_days_and_keeps_the_counts_true(conn: Conn) -> None:
    source = insert_media(conn)
    made = [enqueue(conn, source)["id"] for _ in range(6)]
    claim(conn, "w", limit=6)
    for edit_id in made:
        conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [edit_id])
    # Two finished 40 days ago, two 10 days ago, two today.
    for age, pair in (("40 days", made[:2]), ("10 days", made[2:4])):
        conn.execute(
            "UPDATE editroom.edits SET finished_at = now() - %s::interval WHERE id = ANY(%s)",
            [age, pair],
        )
        conn.execute(
            """UPDATE editroom.edit_attempts SET finished_at = now() - %s::interval
                WHERE edit_id = ANY(%s)""",
            [age, pair],
        )
    assert archive(conn, "1 hour", limit=1) == 1  # bounded: the oldest first
    assert archive(conn, "1 hour") == 3
    assert where(conn, made[4]) == ["edits"]
    assert status_counts(conn) == counted(conn) == {**dict.fromkeys(counted(conn), 0),
                                                    "completed": 6}  # fmt: skip

    days = "SELECT count(*) AS n FROM pg_inherits WHERE inhparent = %s::regclass"
    before = conn.execute(days, ["editroom.edit_history"]).fetchone()
    assert prune(conn, "30 days") == 2
    after = conn.execute(days, ["editroom.edit_history"]).fetchone()
    assert before is not None and after is not None
    assert after["n"] == before["n"] - 1
    gone = conn.execute(
        """SELECT to_regclass('editroom.edit_history_p' || to_char(d, 'YYYYMMDD')) AS e,
                  to_regclass('editroom.edit_attempt_history_p' || to_char(d, 'YYYYMMDD')) AS a
             FROM (SELECT ((now() - interval '40 days') AT TIME ZONE 'UTC')::date AS d) t"""
    ).fetchone()
    assert gone == {"e": None, "a": None}  # the day's partitions, dropped whole
    assert [where(conn, e) for e in made] == [[], [], ["history"], ["history"], ["edits"],
                                              ["edits"]]  # fmt: skip
    left = conn.execute(
        "SELECT count(*) AS n FROM editroom.edit_attempt_history WHERE edit_id = ANY(%s)",
        [made[:2]],
    ).fetchone()
    assert left == {"n": 0}
    assert status_counts(conn) == counted(conn)
    assert counted(conn)["completed"] == 4
    assert prune(conn, "30 days") == 0


def test_a_session_keeps_its_steps_in_edits(conn: Conn) -> None:
    source = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [source]).fetchone()
    assert session is not None
    step = enqueue(conn, None, session_id=session["id"])
    claim(conn, "w")
    conn.execute("SELECT editroom.complete_edit(%s, 'w', ARRAY[%s]::uuid[])", [step["id"], source])
    conn.execute("UPDATE editroom.edits SET finished_at = now() - interval '90 days'")
    assert archive(conn) == 0
    conn.execute("SELECT editroom.delete_session(%s)", [session["id"]])
    assert archive(conn) == 1
    assert prune(conn, "30 days") == 1
    assert status_counts(conn) == counted(conn)


def test_recount_counts_archived_edits_too(conn: Conn) -> None:
    source = insert_media(conn)
    edit_id = enqueue(conn, source)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    assert archive(conn) == 1
    conn.execute("DELETE FROM editroom.edit_status_counts")
    conn.execute("DELETE FROM editroom.edit_history_counts")
    conn.execute("SELECT * FROM editroom.recount_status_counts()")
    assert status_counts(conn)["cancelled"] == 1
    assert prune(conn, "-1 day") == 1
    assert status_counts(conn) == counted(conn)


def test_truncating_edits_leaves_archived_ones_counted(conn: Conn) -> None:
    source = insert_media(conn)
    gone = enqueue(conn, source)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [gone])
    assert archive(conn) == 1
    enqueue(conn, source)
    conn.execute("TRUNCATE editroom.edits CASCADE")
    assert status_counts(conn) == counted(conn)
    assert counted(conn)["cancelled"] == 1


def test_an_edit_made_by_hand_finished_without_a_time_stays(conn: Conn, media_id: UUID) -> None:
    # History is partitioned by finished_at: a finished row without one is never moved.
    edit_id = enqueue(conn, media_id)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    conn.execute("UPDATE editroom.edits SET finished_at = NULL WHERE id = %s", [edit_id])
    assert archive(conn) == 0
    assert where(conn, edit_id) == ["edits"]


@pytest.fixture
def media_id(conn: Conn) -> UUID:
    return insert_media(conn)


def test_a_runner_finishing_an_archived_edit_is_told_it_is_finished(
    conn: Conn, media_id: UUID
) -> None:
    edit_id = enqueue(conn, media_id)["id"]
    (claimed,) = claim(conn, "w")
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    assert archive(conn) == 1
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="is cancelled, not processing"):
        conn.execute(
            "SELECT editroom.complete_edit(%s, 'w', '{}', %s)", [edit_id, claimed["trial"]]
        )
    held = conn.execute(
        "SELECT editroom.heartbeat_edit(%s, 'w', p_trial => %s) AS held",
        [edit_id, claimed["trial"]],
    ).fetchone()
    assert held == {"held": False}


def test_a_reader_of_history_delays_partitions_a_round_but_is_never_stalled(
    conn: Conn, media_id: UUID, database_url: str
) -> None:
    edit_id = enqueue(conn, media_id)["id"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit_id])
    conn.execute(
        "UPDATE editroom.edits SET finished_at = now() - interval '40 days' WHERE id = %s",
        [edit_id],
    )
    with psycopg.connect(database_url) as reader:
        reader.execute("SELECT count(*) FROM editroom.all_edits")  # a transaction left open
        started = time.monotonic()
        assert archive(conn) == 0  # the day's partition waits for the next round
        assert time.monotonic() - started < 2
        assert where(conn, edit_id) == ["edits"]
    assert archive(conn) == 1
    with psycopg.connect(database_url) as reader:
        reader.execute("SELECT count(*) FROM editroom.all_edits")
        started = time.monotonic()
        assert prune(conn, "30 days") == 0  # dropping the day waits for the next round
        assert time.monotonic() - started < 2
    assert prune(conn, "30 days") == 1
    assert status_counts(conn) == counted(conn)


def test_downgrading_below_history_brings_archived_edits_back_counted_once(
    conn: Conn, database_url: str
) -> None:
    """0009's downgrade moves archived edits back into edits with edits' triggers off (the
    head's triggers name columns of later migrations); they were counted already, so the
    counters still match a count of the rows, and after upgrading again too."""
    media_id = insert_media(conn)
    made = [enqueue(conn, media_id)["id"] for _ in range(3)]
    for claimed in claim(conn, "w", 2):
        conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}')", [claimed["id"]])
    assert archive(conn) == 2
    migrations.downgrade(database_url, "0008")
    counted = status_counts(conn)
    rows = conn.execute(
        "SELECT status::text AS status, count(*) AS n FROM editroom.edits GROUP BY 1"
    ).fetchall()
    assert {row["status"]: row["n"] for row in rows} == {"completed": 2, "queued": 1}
    assert {s: n for s, n in counted.items() if n} == {"completed": 2, "queued": 1}
    migrations.upgrade(database_url)
    assert sorted(where(conn, edit_id)[0] for edit_id in made) == ["edits"] * 3
    assert {s: n for s, n in status_counts(conn).items() if n} == {"completed": 2, "queued": 1}
