"""Every transition of the SQL API, and every wrong one refused with the id and the status."""

import time
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import errors
from psycopg.types.json import Jsonb

from tests.queue import Conn, attempts, claim, edit, enqueue, insert_media, status_counts

STATUSES = ("queued", "processing", "completed", "error", "failed", "cancelled")


@pytest.fixture
def media(conn: Conn) -> UUID:
    return insert_media(conn)


def fail(
    conn: Conn, edit_id: Any, worker: str, error: str = "boom", retryable: bool = True
) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM editroom.fail_edit(%s, %s, %s, %s)", [edit_id, worker, error, retryable]
    ).fetchone()
    assert row is not None
    return row


def complete(
    conn: Conn, edit_id: Any, worker: str, outputs: list[UUID] | None = None
) -> dict[str, Any]:
    row = conn.execute(
        "SELECT * FROM editroom.complete_edit(%s, %s, %s)", [edit_id, worker, outputs or []]
    ).fetchone()
    assert row is not None
    return row


def call(conn: Conn, function: str, edit_id: Any) -> dict[str, Any]:
    # function names come from this file's own constants, never from input
    row = conn.execute(
        psycopg.sql.SQL("SELECT * FROM editroom.{}(%s)").format(psycopg.sql.Identifier(function)),
        [edit_id],
    ).fetchone()
    assert row is not None
    return row


def make_edit_in(conn: Conn, media: UUID, status: str) -> dict[str, Any]:
    """An edit brought to `status` through the SQL API only."""
    queued = enqueue(conn, media, max_trials=1 if status == "failed" else 3)
    if status == "queued":
        return queued
    if status == "cancelled":
        return call(conn, "cancel_edit", queued["id"])
    (claimed,) = claim(conn, "maker")
    assert claimed["id"] == queued["id"]
    if status == "processing":
        return claimed
    if status == "completed":
        return complete(conn, claimed["id"], "maker")
    return fail(conn, claimed["id"], "maker")  # error while trials remain, else failed


def test_enqueue_returns_a_queued_edit(conn: Conn, media: UUID) -> None:
    row = enqueue(conn, media, [{"op": "noop"}], priority=5, max_trials=4)
    assert row["status"] == "queued"
    assert row["trial"] == 0
    assert row["max_trials"] == 4
    assert row["priority"] == 5
    assert row["ops"] == [{"op": "noop"}]
    assert row["locked_by"] is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_trials": 0}, "p_max_trials must be at least 1, got 0"),
    ],
)
def test_enqueue_refuses_bad_arguments(
    conn: Conn, media: UUID, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue, match=message):
        enqueue(conn, media, **options)


def test_enqueue_refuses_ops_that_are_not_an_array(conn: Conn, media: UUID) -> None:
    with pytest.raises(errors.InvalidParameterValue, match="p_ops must be a JSON array"):
        conn.execute('SELECT editroom.enqueue_edit(%s, \'{"op": "noop"}\')', [media])


def test_enqueue_refuses_unknown_media(conn: Conn) -> None:
    missing = uuid4()
    with pytest.raises(errors.NoDataFound, match=f"media {missing} does not exist"):
        enqueue(conn, missing)


def enqueue_once(conn: Conn, media: UUID | None, key: str) -> dict[str, Any]:
    row = conn.execute(
        "SELECT (o.edit).*, o.reused FROM editroom.enqueue_edit_once(%s, %s, %s, "
        "p_max_trials => 4, p_priority => 3) AS o",
        [media, Jsonb([{"op": "noop"}]), key],
    ).fetchone()
    assert row is not None
    return row


def test_enqueue_once_writes_a_new_edit_once_with_its_key(conn: Conn, media: UUID) -> None:
    """One INSERT, the key in it: no UPDATE after it (every trigger on edits ran twice)."""
    key = "ab" * 32
    with conn.transaction():
        row = enqueue_once(conn, media, key)
        written = conn.execute(
            "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables "
            "WHERE relid = 'editroom.edits'::regclass"
        ).fetchone()
    made = (row["status"], row["edit_key"], row["kind"], row["max_trials"], row["priority"])
    assert (made, row["reused"]) == (("queued", key, "image", 4, 3), False)
    assert written == {"n_tup_ins": 1, "n_tup_upd": 0}
    assert status_counts(conn)["queued"] == 1


def test_enqueue_once_refuses_unknown_media(conn: Conn) -> None:
    missing = uuid4()
    with pytest.raises(errors.NoDataFound, match=f"media {missing} does not exist"):
        enqueue_once(conn, missing, "cd" * 32)


def enqueue_admitted(conn: Conn, media: UUID, key: str, max_queued: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT a.waiting, (a.edit).id, a.reused "
        "FROM editroom.enqueue_edit_once_admitted(%s, %s, '[]', %s) AS a",
        [max_queued, media, key],
    ).fetchone()
    assert row is not None
    return row


def test_enqueue_once_admitted_refuses_a_full_queue_and_makes_nothing(
    conn: Conn, media: UUID
) -> None:
    first = enqueue_admitted(conn, media, "01" * 32, max_queued=2)
    second = enqueue_admitted(conn, media, "02" * 32, max_queued=2)
    refused = enqueue_admitted(conn, media, "03" * 32, max_queued=2)
    assert (first["waiting"], second["waiting"]) == (0, 1)
    assert None not in (first["id"], second["id"])
    assert refused == {"waiting": 2, "id": None, "reused": None}
    assert status_counts(conn)["queued"] == 2


def test_enqueue_once_admitted_refuses_a_media_gone_even_for_an_identical_edit(
    conn: Conn, media: UUID
) -> None:
    key = "04" * 32
    made = enqueue_admitted(conn, media, key, max_queued=10)
    joined = enqueue_admitted(conn, media, key, max_queued=10)
    assert (joined["id"], joined["reused"]) == (made["id"], True)
    conn.execute("DELETE FROM editroom.media WHERE id = %s", [media])
    with pytest.raises(errors.NoDataFound, match=f"media {media} does not exist"):
        enqueue_admitted(conn, media, key, max_queued=10)


def test_enqueue_edits_queues_one_edit_per_media_in_order(conn: Conn, media: UUID) -> None:
    other = insert_media(conn)
    rows = conn.execute(
        "SELECT * FROM editroom.enqueue_edits(%s, %s, p_priority => 2, p_max_trials => 5)",
        [[other, media, other], Jsonb([{"op": "noop"}])],
    ).fetchall()
    assert [row["media_id"] for row in rows] == [other, media, other]  # named twice: two
    assert {(r["status"], r["kind"], r["priority"], r["max_trials"]) for r in rows} == {
        ("queued", "image", 2, 5)
    }
    assert status_counts(conn)["queued"] == 3


def test_enqueue_edits_refuses_them_all_naming_the_first_missing_media(
    conn: Conn, media: UUID
) -> None:
    first, second = uuid4(), uuid4()
    with pytest.raises(errors.NoDataFound, match=f"media {first} does not exist"):
        conn.execute("SELECT * FROM editroom.enqueue_edits(%s, '[]')", [[media, first, second]])
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


@pytest.mark.parametrize(
    ("ops", "trials", "message"),
    [
        ({"op": "noop"}, 3, "p_ops must be a JSON array"),
        ([], 0, "p_max_trials must be at least 1, got 0"),
    ],
)
def test_enqueue_edits_refuses_bad_arguments(
    conn: Conn, media: UUID, ops: Any, trials: int, message: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue, match=message):
        conn.execute(
            "SELECT * FROM editroom.enqueue_edits(%s, %s, p_max_trials => %s)",
            [[media], Jsonb(ops), trials],
        )


def test_claim_takes_highest_priority_then_oldest(conn: Conn, media: UUID) -> None:
    low = enqueue(conn, media, priority=0)
    high = enqueue(conn, media, priority=10)
    later_low = enqueue(conn, media, priority=0)
    claimed = [claim(conn, "w")[0]["id"] for _ in range(3)]
    assert claimed == [high["id"], low["id"], later_low["id"]]


def test_claim_counts_the_trial_and_takes_a_lease(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "worker-a", lease="90 seconds")
    assert row["status"] == "processing"
    assert row["trial"] == 1
    assert row["locked_by"] == "worker-a"
    assert row["lease_until"] - row["started_at"] == timedelta(seconds=90)
    assert [a["worker"] for a in attempts(conn, row["id"])] == ["worker-a"]


def test_claim_respects_the_limit_and_run_after(conn: Conn, media: UUID) -> None:
    for _ in range(4):
        enqueue(conn, media)
    later = conn.execute(
        "SELECT (editroom.enqueue_edit(%s, '[]', p_run_after => now() + interval '1 hour')).id",
        [media],
    ).fetchone()
    assert later is not None
    assert len(claim(conn, "w", limit=2)) == 2
    assert len(claim(conn, "w", limit=10)) == 2
    assert claim(conn, "w", limit=10) == []
    assert edit(conn, later["id"])["status"] == "queued"


@pytest.mark.parametrize(
    ("worker", "limit", "lease", "message"),
    [
        ("", 1, "1 minute", "p_worker must name the worker"),
        ("w", 0, "1 minute", "p_limit must be at least 1, got 0"),
        ("w", 1, "0 seconds", "p_lease must be positive"),
    ],
)
def test_claim_refuses_bad_arguments(
    conn: Conn, worker: str, limit: int, lease: str, message: str
) -> None:
    with pytest.raises(errors.InvalidParameterValue, match=message):
        claim(conn, worker, limit, lease)


def test_complete_records_outputs_and_ends_the_attempt(conn: Conn, media: UUID) -> None:
    output = insert_media(conn)
    enqueue(conn, media)
    (row,) = claim(conn, "w")
    done = complete(conn, row["id"], "w", [output])
    assert done["status"] == "completed"
    assert done["outputs"] == [output]
    assert done["progress"] == 1
    assert done["locked_by"] is None and done["lease_until"] is None
    assert done["finished_at"] is not None
    (attempt,) = attempts(conn, row["id"])
    assert attempt["outcome"] == "completed"
    assert attempt["duration"] is not None and attempt["duration"] >= timedelta(0)


def test_complete_by_another_worker_is_refused(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "owner")
    with pytest.raises(
        errors.ObjectNotInPrerequisiteState, match=f"edit {row['id']} is held by owner, not thief"
    ):
        complete(conn, row["id"], "thief")
    assert edit(conn, row["id"])["status"] == "processing"


@pytest.mark.parametrize("status", ["queued", "completed", "error", "failed", "cancelled"])
def test_complete_outside_processing_names_the_status(conn: Conn, media: UUID, status: str) -> None:
    row = make_edit_in(conn, media, status)
    with pytest.raises(
        errors.ObjectNotInPrerequisiteState, match=f"edit {row['id']} is {status}, not processing"
    ):
        complete(conn, row["id"], "maker")


def test_complete_of_a_missing_edit(conn: Conn) -> None:
    missing = uuid4()
    with pytest.raises(errors.NoDataFound, match=f"edit {missing} does not exist"):
        complete(conn, missing, "w")


def test_complete_edits_is_all_or_nothing(conn: Conn, media: UUID) -> None:
    for _ in range(3):
        enqueue(conn, media)
    held = claim(conn, "w", limit=3)
    call(conn, "cancel_edit", held[1]["id"])
    results = psycopg.types.json.Jsonb({str(row["id"]): [] for row in held})
    with pytest.raises(
        errors.ObjectNotInPrerequisiteState, match=f"edit {held[1]['id']} is cancelled"
    ):
        conn.execute("SELECT * FROM editroom.complete_edits('w', %s)", [results])
    assert [edit(conn, row["id"])["status"] for row in held] == [
        "processing",
        "cancelled",
        "processing",
    ]
    ok = psycopg.types.json.Jsonb({str(held[0]["id"]): [], str(held[2]["id"]): []})
    done = conn.execute("SELECT id, status FROM editroom.complete_edits('w', %s)", [ok]).fetchall()
    assert {row["status"] for row in done} == {"completed"}
    assert len(done) == 2


def test_retryable_failure_backs_off_then_is_claimable(conn: Conn, media: UUID) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '1'")
    enqueue(conn, media)
    (row,) = claim(conn, "w")
    failed = fail(conn, row["id"], "w", "storage timed out", retryable=True)
    assert failed["status"] == "error"
    assert failed["error"] == "storage timed out"
    assert failed["finished_at"] is None
    # From the failure's own time: a later statement's now() is later, and made it look short.
    (attempt,) = attempts(conn, row["id"])
    delay = failed["run_after"] - attempt["finished_at"]
    assert timedelta(seconds=0.5) <= delay <= timedelta(seconds=1)
    assert claim(conn, "w") == [], "claimed before its back-off ended"
    left = failed["run_after"] - conn.execute("SELECT now() AS t").fetchone()["t"]  # type: ignore[index]
    time.sleep(max(left.total_seconds(), 0) + 0.05)
    (again,) = claim(conn, "w")
    assert again["id"] == row["id"]
    assert again["trial"] == 2


def test_backoff_grows_exponentially_and_is_capped(conn: Conn) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '10'")
    conn.execute("SET editroom.backoff_max_seconds = '100'")
    rows = conn.execute(
        """SELECT t AS trial, min(extract(epoch FROM editroom.backoff_delay(t))) AS low,
                  max(extract(epoch FROM editroom.backoff_delay(t))) AS high
             FROM generate_series(1, 6) t, generate_series(1, 200) sample
            GROUP BY t ORDER BY t"""
    ).fetchall()
    ceilings = [10, 20, 40, 80, 100, 100]
    for row, ceiling in zip(rows, ceilings, strict=True):
        assert ceiling / 2 <= float(row["low"]) < float(row["high"]) <= ceiling, row


def test_non_retryable_failure_fails_at_once(conn: Conn, media: UUID) -> None:
    enqueue(conn, media, max_trials=5)
    (row,) = claim(conn, "w")
    failed = fail(conn, row["id"], "w", "not an image", retryable=False)
    assert failed["status"] == "failed"
    assert failed["error"] == "not an image"
    assert failed["finished_at"] is not None
    assert attempts(conn, row["id"])[0]["outcome"] == "failed"
    # The runner's verdict is kept, and the DBA's lever refuses what would fail alike.
    assert failed["fails_alike"] is True
    refusal = conn.execute("SELECT editroom.retry_refusal(e) AS r FROM editroom.edits e").fetchone()
    assert refusal == {"r": f"edit {row['id']} failed in a way trying again would not change "
                            "(not an image); change its operations or its source and make a "
                            "new edit"}  # fmt: skip
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="would not change"):
        call(conn, "retry_edit", row["id"])


def test_last_trial_fails_even_when_retryable(conn: Conn, media: UUID) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '0'")
    enqueue(conn, media, max_trials=2)
    for trial, expected in ((1, "error"), (2, "failed")):
        (row,) = claim(conn, "w")
        assert row["trial"] == trial
        assert fail(conn, row["id"], "w", f"attempt {trial} broke")["status"] == expected
    outcomes = [(a["trial"], a["outcome"], a["error"]) for a in attempts(conn, row["id"])]
    assert outcomes == [(1, "error", "attempt 1 broke"), (2, "failed", "attempt 2 broke")]
    assert edit(conn, row["id"])["fails_alike"] is False  # it may succeed: retry_edit takes it
    assert call(conn, "retry_edit", row["id"])["status"] == "queued"


def test_fail_by_another_worker_is_refused(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "owner")
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="is held by owner, not thief"):
        fail(conn, row["id"], "thief")


def release(conn: Conn, edit_id: Any, worker: str) -> bool:
    row = conn.execute(
        "SELECT editroom.release_edit(%s, %s) AS released", [edit_id, worker]
    ).fetchone()
    assert row is not None
    return bool(row["released"])


def test_release_queues_the_edit_at_once_as_a_released_attempt(conn: Conn, media: UUID) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '60'")  # a failure would wait a minute
    enqueue(conn, media, max_trials=1)
    (row,) = claim(conn, "leaving")
    assert release(conn, row["id"], "leaving")
    released = edit(conn, row["id"])
    assert (released["status"], released["locked_by"], released["lease_until"]) == (
        "queued",
        None,
        None,
    )
    assert [(a["worker"], a["outcome"]) for a in attempts(conn, row["id"])] == [
        ("leaving", "released")
    ]
    (again,) = claim(conn, "staying")
    assert (again["id"], again["trial"]) == (row["id"], 2)
    # The release used no failure: a one-trial edit still has its one failure to spend.
    assert fail(conn, row["id"], "staying", "broke")["status"] == "failed"
    assert [a["outcome"] for a in attempts(conn, row["id"])] == ["released", "failed"]


@pytest.mark.parametrize("status", STATUSES)
def test_release_by_a_worker_not_holding_the_edit_changes_nothing(
    conn: Conn, media: UUID, status: str
) -> None:
    row = make_edit_in(conn, media, status)
    before = edit(conn, row["id"])
    assert not release(conn, row["id"], "thief")
    assert not release(conn, uuid4(), "maker")
    if status != "processing":
        assert not release(conn, row["id"], "maker")
    assert edit(conn, row["id"]) == before


@pytest.mark.parametrize("status", STATUSES)
def test_cancel_from_every_status(conn: Conn, media: UUID, status: str) -> None:
    row = make_edit_in(conn, media, status)
    if status in ("completed", "failed"):
        with pytest.raises(
            errors.ObjectNotInPrerequisiteState,
            match=f"edit {row['id']} is {status}, it can no longer be cancelled",
        ):
            call(conn, "cancel_edit", row["id"])
        assert edit(conn, row["id"])["status"] == status
        return
    cancelled = call(conn, "cancel_edit", row["id"])
    assert cancelled["status"] == "cancelled"
    assert cancelled["locked_by"] is None and cancelled["finished_at"] is not None
    assert claim(conn, "w") == []


@pytest.mark.parametrize("status", STATUSES)
def test_retry_from_every_status(conn: Conn, media: UUID, status: str) -> None:
    row = make_edit_in(conn, media, status)
    if status not in ("failed", "cancelled"):
        with pytest.raises(
            errors.ObjectNotInPrerequisiteState,
            match=f"edit {row['id']} is {status}, not failed or cancelled",
        ):
            call(conn, "retry_edit", row["id"])
        assert edit(conn, row["id"])["status"] == status
        return
    retried = call(conn, "retry_edit", row["id"])
    assert retried["status"] == "queued"
    assert retried["error"] is None and retried["finished_at"] is None
    assert retried["max_trials"] >= retried["trial"] + 1
    (claimed,) = claim(conn, "w")
    assert claimed["id"] == row["id"]
    assert claimed["trial"] == row["trial"] + 1


def test_cancel_and_retry_of_a_missing_edit(conn: Conn) -> None:
    for function in ("cancel_edit", "retry_edit"):
        with pytest.raises(errors.NoDataFound, match="does not exist"):
            call(conn, function, uuid4())


def test_cancel_while_processing_closes_the_attempt_and_stops_the_worker(
    conn: Conn, media: UUID
) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "w")
    call(conn, "cancel_edit", row["id"])
    assert attempts(conn, row["id"])[0]["outcome"] == "cancelled"
    held = conn.execute("SELECT editroom.heartbeat_edit(%s, 'w') AS held", [row["id"]]).fetchone()
    assert held == {"held": False}


def test_heartbeat_extends_the_lease_and_records_progress(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "w", lease="10 seconds")
    beat = conn.execute(
        "SELECT editroom.heartbeat_edit(%s, 'w', 0.25, '1 hour') AS held", [row["id"]]
    ).fetchone()
    assert beat == {"held": True}
    after = edit(conn, row["id"])
    assert after["progress"] == pytest.approx(0.25)
    assert after["lease_until"] - after["started_at"] >= timedelta(minutes=59)


def test_heartbeat_from_a_worker_that_lost_the_lease(conn: Conn, media: UUID) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '0'")
    enqueue(conn, media)
    (row,) = claim(conn, "slow", lease="1 millisecond")
    time.sleep(0.01)
    assert conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone() == {"n": 1}
    (again,) = claim(conn, "fast")
    beat = conn.execute(
        "SELECT editroom.heartbeat_edit(%s, 'slow', 0.5) AS held", [row["id"]]
    ).fetchone()
    assert beat == {"held": False}
    assert edit(conn, again["id"])["progress"] == 0, "the lost worker's progress was recorded"
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="held by fast, not slow"):
        complete(conn, row["id"], "slow")
    assert complete(conn, row["id"], "fast")["status"] == "completed"


def test_heartbeat_refuses_progress_out_of_range(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "w")
    with pytest.raises(errors.InvalidParameterValue, match="p_progress must be between 0 and 1"):
        conn.execute("SELECT editroom.heartbeat_edit(%s, 'w', 1.5)", [row["id"]])


def test_reap_counts_a_trial_and_fails_on_the_last(conn: Conn, media: UUID) -> None:
    conn.execute("SET editroom.backoff_base_seconds = '0'")
    enqueue(conn, media, max_trials=2)
    for trial, expected in ((1, "error"), (2, "failed")):
        (row,) = claim(conn, f"doomed-{trial}", lease="1 millisecond")
        time.sleep(0.01)
        assert conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone() == {"n": 1}
        after = edit(conn, row["id"])
        assert after["status"] == expected
        assert after["trial"] == trial
        assert f"worker doomed-{trial} stopped heartbeating" in after["error"]
    assert [a["outcome"] for a in attempts(conn, row["id"])] == ["error", "failed"]


def test_reap_leaves_live_leases_alone(conn: Conn, media: UUID) -> None:
    enqueue(conn, media)
    (row,) = claim(conn, "alive", lease="1 hour")
    assert conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone() == {"n": 0}
    assert edit(conn, row["id"])["status"] == "processing"


def test_status_counts_lists_all_six_with_zeros(conn: Conn, media: UUID) -> None:
    rows = conn.execute("SELECT status, count FROM editroom.status_counts()").fetchall()
    assert [(row["status"], row["count"]) for row in rows] == [(s, 0) for s in STATUSES]
    # Queued ones last: make_edit_in claims the oldest queued edit.
    for status in (*STATUSES[1:], "queued", "queued"):
        make_edit_in(conn, media, status)
    counts = status_counts(conn)
    assert counts == {
        "queued": 2,
        "processing": 1,
        "completed": 1,
        "error": 1,
        "failed": 1,
        "cancelled": 1,
    }


def test_prune_removes_only_old_finished_edits(conn: Conn, media: UUID) -> None:
    done = make_edit_in(conn, media, "completed")
    live = make_edit_in(conn, media, "queued")
    assert conn.execute("SELECT editroom.archive_finished_edits('1 hour') AS n").fetchone() == {
        "n": 0
    }
    conn.execute(
        "UPDATE editroom.edits SET finished_at = now() - interval '3 days' WHERE id = %s",
        [done["id"]],
    )
    assert conn.execute("SELECT editroom.archive_finished_edits('1 hour') AS n").fetchone() == {
        "n": 1
    }
    assert conn.execute("SELECT editroom.prune_finished_edits('1 day') AS n").fetchone() == {"n": 1}
    assert conn.execute("SELECT count(*) AS n FROM editroom.all_edits").fetchone() == {"n": 1}
    assert edit(conn, live["id"])["status"] == "queued"
    assert status_counts(conn)["completed"] == 0


def test_truncate_resets_status_counts(conn: Conn, media: UUID) -> None:
    make_edit_in(conn, media, "completed")
    conn.execute("TRUNCATE editroom.edits CASCADE")
    assert set(status_counts(conn).values()) == {0}
