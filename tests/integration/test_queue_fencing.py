"""An attempt is fenced by the trial its claim returned, not only by the worker's name: a
runner whose attempt was reaped, and which then claimed the same edit again, cannot heartbeat
or complete the old attempt. And a trial lowered by hand cannot wedge the queue."""

from uuid import UUID

import pytest
from psycopg import errors

from tests.queue import Conn, claim, disable_backoff, edit, enqueue, insert_media


@pytest.fixture
def reclaimed(conn: Conn) -> UUID:
    """An edit worker w claimed (trial 1), lost to the reaper, and claimed again (trial 2)."""
    disable_backoff(conn)
    edit_id: UUID = enqueue(conn, insert_media(conn))["id"]
    (first,) = claim(conn, "w", lease="1 millisecond")
    assert first["trial"] == 1
    conn.execute("SELECT pg_sleep(0.01)")
    assert conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone() == {"n": 1}
    (second,) = claim(conn, "w")
    assert second["id"] == edit_id and second["trial"] == 2
    return edit_id


def test_the_stale_attempt_cannot_heartbeat(conn: Conn, reclaimed: UUID) -> None:
    held = conn.execute(
        "SELECT editroom.heartbeat_edit(%s, 'w', 0.9, p_trial => 1) AS held", [reclaimed]
    ).fetchone()
    assert held == {"held": False}
    assert edit(conn, reclaimed)["progress"] == 0  # the new attempt's, untouched
    current = conn.execute(
        "SELECT editroom.heartbeat_edit(%s, 'w', 0.5, p_trial => 2) AS held", [reclaimed]
    ).fetchone()
    assert current == {"held": True}


def test_the_stale_attempt_cannot_complete_or_fail(conn: Conn, reclaimed: UUID) -> None:
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="in trial 2, not 1"):
        conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}', p_trial => 1)", [reclaimed])
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="in trial 2, not 1"):
        conn.execute("SELECT editroom.fail_edit(%s, 'w', 'old', p_trial => 1)", [reclaimed])
    released = conn.execute(
        "SELECT editroom.release_edit(%s, 'w', 1) AS released", [reclaimed]
    ).fetchone()
    assert released == {"released": False}
    assert edit(conn, reclaimed)["status"] == "processing"

    conn.execute("SELECT editroom.complete_edit(%s, 'w', '{}', p_trial => 2)", [reclaimed])
    assert edit(conn, reclaimed)["status"] == "completed"


def test_a_trial_lowered_by_hand_is_refused_and_claims_go_on(conn: Conn) -> None:
    disable_backoff(conn)
    media = insert_media(conn)
    edit_id: UUID = enqueue(conn, media)["id"]
    (row,) = claim(conn, "w")
    conn.execute("SELECT editroom.fail_edit(%s, 'w', 'flaky')", [row["id"]])
    with pytest.raises(errors.CheckViolation, match="trial cannot go down"):
        conn.execute("UPDATE editroom.edits SET trial = 0 WHERE id = %s", [edit_id])

    other: UUID = enqueue(conn, media)["id"]
    claimed = {r["id"]: r["trial"] for r in claim(conn, "w", limit=5)}
    assert claimed == {edit_id: 2, other: 1}
