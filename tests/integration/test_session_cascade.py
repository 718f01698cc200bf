"""A step that fails or is cancelled ends every step queued behind it, in one statement
however many there are (db/functions/300_sessions.sql). The steps behind it were once ended a
generation per nested trigger: past about 600 of them PostgreSQL's stack ran out, the step
could not be failed or cancelled at all, and a reaper holding it as an expired last trial
failed on every run, so no lease anywhere was reaped again."""

from typing import Any
from uuid import UUID

import pytest
from psycopg.errors import ObjectNotInPrerequisiteState
from psycopg.types.json import Jsonb

from service.kernel.db import QUERIES
from tests.queue import Conn, buffers, claim, edit, enqueue, insert_media

BEHIND = 800  # past the depth that exhausted the stack


def session_with_steps_behind(conn: Conn, behind: int) -> tuple[UUID, UUID]:
    """A session whose first step runs (a vanished runner's last trial, its lease expired)
    with `behind` steps queued after it: the session's id and the first step's."""
    media = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [media]).fetchone()
    assert session is not None
    steps = conn.execute(
        """SELECT (editroom.enqueue_edit(NULL, %s, p_session_id => %s, p_max_trials => 1)).id
             FROM generate_series(0, %s)""",
        [Jsonb([]), session["id"], behind],
    ).fetchall()
    first = steps[0]["id"]
    conn.execute(
        """UPDATE editroom.edits
              SET status = 'processing', trial = 1, locked_by = 'vanished',
                  lease_until = now() - interval '1 minute', started_at = now()
            WHERE id = %s""",
        [first],
    )
    return session["id"], first


def steps(conn: Conn, session: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, session_step, status::text, error, blocked_by FROM editroom.edits
            WHERE session_id = %s ORDER BY session_step""",
        [session],
    ).fetchall()


def test_the_reaper_ends_a_last_trial_with_hundreds_of_steps_behind_it(conn: Conn) -> None:
    session, first = session_with_steps_behind(conn, BEHIND)
    elsewhere = enqueue(conn, insert_media(conn), max_trials=1)["id"]
    conn.execute(
        """UPDATE editroom.edits
              SET status = 'processing', trial = 1, locked_by = 'vanished',
                  lease_until = now() - interval '1 minute', started_at = now()
            WHERE id = %s""",
        [elsewhere],
    )

    reaped = conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone()

    assert reaped == {"n": 2}
    assert edit(conn, elsewhere)["status"] == "failed"  # reaped beside it, as ever
    ended = steps(conn, session)
    assert [step["status"] for step in ended] == ["failed"] * (BEHIND + 1)
    assert all(step["blocked_by"] is None for step in ended)
    # Each names the step that failed first and why, not the chain of steps between.
    reason = ended[0]["error"]
    assert {step["error"] for step in ended[1:]} == {
        f"step 1 of the session (edit {first}) failed: {reason}"
    }


def test_cancelling_a_step_with_hundreds_behind_it_cancels_them_all(conn: Conn) -> None:
    session, first = session_with_steps_behind(conn, BEHIND)

    conn.execute("SELECT editroom.cancel_edit(%s)", [first])

    statuses = [step["status"] for step in steps(conn, session)]
    assert statuses == ["cancelled"] * (BEHIND + 1)


def test_deleting_a_session_with_hundreds_of_steps_to_run_cancels_them(conn: Conn) -> None:
    session, _ = session_with_steps_behind(conn, BEHIND)
    ids = [step["id"] for step in steps(conn, session)]

    conn.execute("SELECT editroom.delete_session(%s)", [session])

    statuses = conn.execute(
        "SELECT status::text, count(*) AS n FROM editroom.edits WHERE id = ANY (%s) GROUP BY 1",
        [ids],
    ).fetchall()
    assert statuses == [{"status": "cancelled", "n": BEHIND + 1}]


def test_an_edit_that_cannot_be_ended_does_not_stop_the_reaping_of_others(conn: Conn) -> None:
    """Whatever makes one expired edit impossible to end (here a trigger refusing it), the
    reaper tells of it and reaps the rest."""
    stuck, other = (enqueue(conn, insert_media(conn), max_trials=1)["id"] for _ in range(2))
    conn.execute(
        """UPDATE editroom.edits
              SET status = 'processing', trial = 1, locked_by = 'vanished',
                  lease_until = now() - interval '1 minute', started_at = now()
            WHERE id = ANY (%s)""",
        [[stuck, other]],
    )
    conn.execute(
        """CREATE FUNCTION public.refuse_to_end() RETURNS trigger LANGUAGE plpgsql AS $$
           BEGIN RAISE EXCEPTION 'this one cannot be ended'; END $$"""
    )
    conn.execute(
        f"""CREATE TRIGGER refuse_to_end BEFORE UPDATE ON editroom.edits FOR EACH ROW
            WHEN (OLD.id = '{stuck}' AND NEW.status <> 'processing')
            EXECUTE FUNCTION public.refuse_to_end()"""
    )
    warnings: list[str] = []
    conn.add_notice_handler(lambda notice: warnings.append(notice.message_primary or ""))

    reaped = conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone()

    assert reaped == {"n": 1}
    assert edit(conn, other)["status"] == "failed"
    assert edit(conn, stuck)["status"] == "processing"
    assert warnings == [f"cannot reap edit {stuck}: this one cannot be ended"]


def told(conn: Conn, *ids: UUID) -> list[UUID]:
    """The edits a live stream tells of when told that `ids` changed (every scope)."""
    rows = conn.execute(QUERIES["edits_changed"], {"ids": list(ids)}).fetchall()
    return [row["id"] for row in rows]


def test_a_change_retells_only_the_steps_retrying_may_yet_help(conn: Conn) -> None:
    """The steps a failure took down stay unretryable until the step that failed first is
    retried and completes: a later change tells again only that one, not the hundreds."""
    session, first = session_with_steps_behind(conn, BEHIND)
    conn.execute("SELECT editroom.reap_expired_leases()")
    added = enqueue(conn, None, session_id=session)["id"]

    assert told(conn, added) == [first, added]


def test_a_change_retells_at_most_the_latest_fifty_steps_of_a_session(conn: Conn) -> None:
    session, _ = session_with_steps_behind(conn, 0)
    conn.execute("SELECT editroom.reap_expired_leases()")
    cancelled = []
    for _ in range(60):  # each asked for, then cancelled before it ran
        cancelled.append(enqueue(conn, None, session_id=session)["id"])
        conn.execute("SELECT editroom.cancel_edit(%s)", [cancelled[-1]])
    added = enqueue(conn, None, session_id=session)["id"]

    assert told(conn, added) == [*cancelled[-50:], added]


def test_a_step_cancelled_while_it_waited_stays_cancelled_when_the_one_before_fails(
    conn: Conn,
) -> None:
    session, first = session_with_steps_behind(conn, 2)
    second, third = (step["id"] for step in steps(conn, session)[1:])
    conn.execute("SELECT editroom.cancel_edit(%s)", [second])  # and the third with it

    conn.execute("SELECT editroom.reap_expired_leases()")  # the first fails

    ended = {step["id"]: (step["status"], step["error"]) for step in steps(conn, session)}
    assert ended[first][0] == "failed"
    assert ended[second] == ("cancelled", None)
    assert ended[third][0] == "cancelled"


def test_an_original_is_not_deleted_while_its_session_has_steps_to_run(conn: Conn) -> None:
    """Its session goes with it, and with the session the steps' way to each other: a step
    reading an output (not the original) and the steps queued behind it were left waiting
    for ever, counted against EDITROOM_MAX_QUEUED."""
    original, output = insert_media(conn), insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    made = [enqueue(conn, None, session_id=session["id"])["id"] for _ in range(3)]
    (first,) = claim(conn, "w")
    conn.execute("SELECT editroom.complete_edit(%s, 'w', %s)", [first["id"], [output]])
    (second,) = claim(conn, "w")  # it reads the first one's output
    assert second["id"] == made[1]

    with pytest.raises(ObjectNotInPrerequisiteState, match=f"session {session['id']}"):
        conn.execute("SELECT editroom.delete_media(%s)", [original])

    conn.execute("SELECT editroom.cancel_edit(%s)", [made[1]])  # and the third with it
    conn.execute("SELECT editroom.delete_media(%s)", [original])
    left = conn.execute(
        "SELECT count(*) AS n FROM editroom.sessions WHERE id = %s", [session["id"]]
    )
    assert left.fetchone() == {"n": 0}


def test_a_step_retried_after_its_session_went_reads_the_archived_step_before_it(
    conn: Conn,
) -> None:
    """A step that never got its input, retried once its session is deleted and archived:
    it reads the output of the step it follows from history. Read from live edits only, it
    was queued reading nothing, in no lane: no runner would ever take it."""
    original, first_output, second_output = (insert_media(conn) for _ in range(3))
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    first, second, third = (enqueue(conn, None, session_id=session["id"])["id"] for _ in range(3))
    claim(conn, "w")
    conn.execute("SELECT editroom.cancel_edit(%s)", [second])  # the third with it
    conn.execute("SELECT editroom.complete_edit(%s, 'w', %s)", [first, [first_output]])
    conn.execute("SELECT editroom.retry_edit(%s)", [second])
    claim(conn, "w")
    conn.execute("SELECT editroom.complete_edit(%s, 'w', %s)", [second, [second_output]])
    conn.execute("SELECT editroom.delete_session(%s)", [session["id"]])
    conn.execute("SELECT editroom.archive_finished_edits('0 seconds')")

    retried = conn.execute(
        "SELECT status::text, media_id, kind FROM editroom.retry_edit(%s)", [third]
    ).fetchone()

    assert retried == {"status": "queued", "media_id": second_output, "kind": "image"}


def test_a_step_whose_input_was_deleted_is_not_retried_into_no_lane(conn: Conn) -> None:
    """Cancelled with the step before it (so never given its input), whose output was then
    deleted: retried, it would read nothing, in no lane. Refused, saying why."""
    original, output = insert_media(conn), insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    first, second = (enqueue(conn, None, session_id=session["id"])["id"] for _ in range(2))
    conn.execute("SELECT editroom.cancel_edit(%s)", [first])  # the second with it
    conn.execute("SELECT editroom.retry_edit(%s)", [first])
    claim(conn, "w")
    conn.execute("SELECT editroom.complete_edit(%s, 'w', %s)", [first, [output]])
    conn.execute("SELECT editroom.delete_session(%s)", [session["id"]])
    conn.execute("SELECT editroom.delete_media(%s)", [output])

    with pytest.raises(ObjectNotInPrerequisiteState, match="the media it reads no longer"):
        conn.execute("SELECT editroom.retry_edit(%s)", [second])
    assert edit(conn, second)["status"] == "cancelled"


FINISHED_STEPS = 5_000
QUEUED_ELSEWHERE = 2_000


def test_whether_a_session_is_busy_reads_its_steps_to_run_only(conn: Conn) -> None:
    """A failed step's `retryable` asks whether its session has a step still to run: with
    thousands of finished steps (one failure ends every step queued behind it), or thousands
    of edits queued elsewhere, that read every one of them, for every step a session's page
    shows."""
    elsewhere = insert_media(conn)
    conn.execute(
        "SELECT editroom.enqueue_edits(array_fill(%s::uuid, ARRAY[%s]), %s)",
        [elsewhere, QUEUED_ELSEWHERE, Jsonb([])],
    )
    source = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [source]).fetchone()
    assert session is not None
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at, session_id,
                                       session_step)
           SELECT %s, %s, 'failed', 1, now(), %s, g FROM generate_series(1, %s) g""",
        [source, Jsonb([]), session["id"], FINISHED_STEPS],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    last = conn.execute(
        "SELECT id FROM editroom.edits WHERE session_step = %s", [FINISHED_STEPS]
    ).fetchone()
    assert last is not None

    verdict = f"SELECT editroom.retry_refusal(e) FROM editroom.edits e WHERE e.id = '{last['id']}'"
    conn.execute(verdict)  # its statements planned: the catalog's reads are not counted

    read = buffers(conn, verdict)

    assert read < 20, f"{read} buffers for one step's verdict"
