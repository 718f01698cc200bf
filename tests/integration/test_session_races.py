"""Two steps asked of one session at once. A step is planned from the session as it was read
(the kind it reads, whether it has a picture, its operations parsed for that kind), so it is
made only if the session is still as it was then: editroom.enqueue_session_edit compares the
step it would follow with the one the caller saw, under the session's lock. The later of two
is then planned again against the step that won."""

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from service.domain.session_steps import SESSION_PLANS
from service.kernel.db import Database
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import Conn, insert_media
from tests.waiting import eventually

HOLD_SECONDS = 10.0  # the longest a held request waits to be let go

ADD_STEP = """SELECT (s.edit).id, s.follows_edit_id
                FROM editroom.enqueue_session_edit(%s, %s, %s) AS s"""

IDLE_LOOK_SECONDS = 0.001  # a runner with nothing to claim looks again after this


def open_session(conn: Conn) -> UUID:
    row = conn.execute("SELECT id FROM editroom.open_session(%s)", [insert_media(conn)])
    found = row.fetchone()
    assert found is not None
    return UUID(str(found["id"]))


def add_step(conn: Conn, session: UUID, follows: UUID | None) -> dict[str, Any]:
    row = conn.execute(ADD_STEP, [session, Jsonb([]), follows]).fetchone()
    assert row is not None
    return row


def steps(conn: Conn, session: UUID) -> list[dict[str, Any]]:
    return conn.execute(
        """SELECT id, session_step, parent_edit_id, blocked_by FROM editroom.edits
            WHERE session_id = %s ORDER BY session_step""",
        [session],
    ).fetchall()


def test_a_stale_expectation_makes_nothing_and_the_current_one_makes_the_step(
    conn: Conn,
) -> None:
    session = open_session(conn)
    first = add_step(conn, session, None)
    assert first["id"] is not None and first["follows_edit_id"] is None

    stale = add_step(conn, session, None)  # as if the session were still at its original
    assert stale == {"id": None, "follows_edit_id": first["id"]}

    second = add_step(conn, session, first["id"])
    assert second["id"] is not None and second["follows_edit_id"] == first["id"]
    assert steps(conn, session) == [
        {"id": first["id"], "session_step": 1, "parent_edit_id": None, "blocked_by": None},
        {"id": second["id"], "session_step": 2, "parent_edit_id": first["id"],
         "blocked_by": first["id"]},
    ]  # fmt: skip


def test_a_step_added_meanwhile_is_waited_for_then_refuses_the_other(
    conn: Conn, database_url: str
) -> None:
    """Both callers saw the session at its original; the first holds its step uncommitted.
    The second waits for the session's lock, and then finds a step it did not plan after."""
    session = open_session(conn)
    with psycopg.connect(database_url, row_factory=dict_row) as holder:
        winner = add_step(holder, session, None)  # its transaction stays open
        with ThreadPoolExecutor(1) as pool:
            later = pool.submit(add_step_on_its_own, database_url, session, None)
            eventually(lambda: waiting_for_a_lock(conn), what="the second step to wait")
            holder.commit()
            assert later.result(timeout=10) == {"id": None, "follows_edit_id": winner["id"]}
    assert [step["id"] for step in steps(conn, session)] == [winner["id"]]


def add_step_on_its_own(database_url: str, session: UUID, follows: UUID | None) -> Any:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        return add_step(conn, session, follows)


def waiting_for_a_lock(conn: Conn) -> bool:
    row = conn.execute(
        """SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'"""
    ).fetchone()
    return row is not None and row["n"] > 0


def test_the_step_followed_completing_keeps_the_expectation_and_failing_ends_it(
    conn: Conn,
) -> None:
    session = open_session(conn)
    first = add_step(conn, session, None)
    finish(conn, first["id"], outputs=[insert_media(conn)])
    # It became the head: a step planned while it ran still follows it.
    second = add_step(conn, session, first["id"])
    assert second["id"] is not None
    finish(conn, second["id"], outputs=None)
    # The step it would have followed failed: it would read the head instead.
    assert add_step(conn, session, second["id"]) == {"id": None, "follows_edit_id": first["id"]}


def finish(conn: Conn, edit_id: UUID, *, outputs: list[UUID] | None) -> None:
    """Claim edit_id, then complete it with outputs, or (None) fail it for good."""
    assert conn.execute("SELECT editroom.claim_edit(%s, 'stepper')", [edit_id]).fetchone()
    if outputs is None:
        conn.execute("SELECT editroom.fail_edit(%s, 'stepper', 'broken', false)", [edit_id])
    else:
        conn.execute("SELECT editroom.complete_edit(%s, 'stepper', %s)", [edit_id, outputs])


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(quick_settings(database_url, tmp_path / "data")) as running:
        yield running


@pytest.mark.parametrize(
    ("first", "later", "parameter", "problem"),
    [
        # The sound alone audio=extract keeps takes no video operation.
        ({"audio": "extract"}, {"volume": "0.5"}, "session", "its head is sound alone"),
        # Stills are images: trim, read as a video's, is not one of their operations.
        ({"frames": "best:3"}, {"trim": "0,1"}, "trim", "applies to video media"),
    ],
)
def test_of_two_steps_asked_at_once_the_later_is_checked_against_the_earlier(
    api: Api,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    first: dict[str, str],
    later: dict[str, str],
    parameter: str,
    problem: str,
) -> None:
    """The later request reads the session before the first one's step is made, and is held
    there until it has been: checked against the session it read, it would pass."""
    clip = api.upload(media.write_video(tmp_path / "c.mp4").read_bytes(), filename="c.mp4")
    session = api.client.post("/sessions", params={"media": clip.json()["id"]}).json()
    read, go = hold_the_first_session_read(monkeypatch)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(api.client.post, "/edit", params={"session": session["id"], **later})
        assert read.wait(HOLD_SECONDS), "the later request never read the session"
        made = api.client.post("/edit", params={"session": session["id"], **first})
        assert made.status_code == 202, made.text
        go.set()
        refused = held.result(timeout=HOLD_SECONDS)

    assert refused.status_code == 422, refused.text
    assert refused.json()["parameter"] == parameter
    assert problem in refused.json()["detail"]
    if parameter == "session":
        assert refused.json()["value"] == session["id"]
    steps = api.client.get(session["url"]).json()["steps"]
    assert [step["edit_id"] for step in steps] == [made.json()["id"]]


def hold_the_first_session_read(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[threading.Event, threading.Event]:
    """From now on, the first request that reads a session's state (to plan a step) is held
    just after it: `read` is set then, and it goes on once `go` is."""
    read, go = threading.Event(), threading.Event()
    fetch_all = Database.fetch_all

    async def held(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        rows = await fetch_all(database, query, **params)
        if query == "session_plan" and not read.is_set():
            read.set()
            await asyncio.to_thread(go.wait, HOLD_SECONDS)
        return rows

    monkeypatch.setattr(Database, "fetch_all", held)
    return read, go


def add_a_step_after_each_read(monkeypatch: pytest.MonkeyPatch, conn: Conn, *, reads: int) -> None:
    """From now on, after each of the next `reads` reads of a session's state (planning a
    step), another step is added to that session, as another request would."""
    fetch_all = Database.fetch_all
    left = [reads]

    async def racing(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        rows = await fetch_all(database, query, **params)
        if query == "session_plan" and left[0] > 0:
            left[0] -= 1
            step = "SELECT editroom.enqueue_edit(NULL, '[]', p_session_id => %s)"
            await asyncio.to_thread(conn.execute, step, [params["id"]])
        return rows

    monkeypatch.setattr(Database, "fetch_all", racing)


def test_a_session_deleted_while_its_step_is_planned_is_named_as_missing(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deleted after the request read it, before the step is made: the same 422 naming the
    session as for one that never was (README: an action's query naming nothing), not 404."""
    session = image_session(api)
    fetch_all = Database.fetch_all

    async def deleting(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        rows = await fetch_all(database, query, **params)
        if query == "session_plan":
            delete = "SELECT editroom.delete_session(%s)"
            await asyncio.to_thread(conn.execute, delete, [params["id"]])
        return rows

    monkeypatch.setattr(Database, "fetch_all", deleting)
    response = api.client.post("/edit", params={"session": session["id"], "flip": "h"})

    assert response.status_code == 422, response.text
    assert (response.json()["parameter"], response.json()["value"]) == ("session", session["id"])


def image_session(api: Api) -> dict[str, Any]:
    picture = api.upload(media.image_bytes("PNG", size=(32, 24)), filename="p.png").json()
    session: dict[str, Any] = api.client.post("/sessions", params={"media": picture["id"]}).json()
    return session


def test_a_step_is_planned_again_a_few_times_then_refused_while_the_session_moves_on(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = image_session(api)
    add_a_step_after_each_read(monkeypatch, conn, reads=SESSION_PLANS)

    response = api.client.post("/edit", params={"session": session["id"], "flip": "h"})

    assert response.status_code == 409, response.text
    assert response.json()["error"] == "SessionMoved"
    assert "kept changing" in response.json()["detail"]
    steps = api.client.get(session["url"]).json()["steps"]
    assert [step["ops"] for step in steps] == [[]] * SESSION_PLANS  # only the others'


def test_an_idempotency_key_keeps_the_step_made_after_planning_again(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = image_session(api)
    add_a_step_after_each_read(monkeypatch, conn, reads=1)
    params, key = {"session": session["id"], "flip": "h"}, {"Idempotency-Key": "step-1"}

    made = api.client.post("/edit", params=params, headers=key)
    again = api.client.post("/edit", params=params, headers=key)

    assert made.status_code == 202, made.text
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (202, "true")
    assert again.json()["id"] == made.json()["id"]
    steps = api.client.get(session["url"]).json()["steps"]
    assert [step["ops"] for step in steps] == [[], [{"op": "flip", "axis": "h"}]]
    assert steps[1]["follows_edit_id"] == steps[0]["edit_id"]


@pytest.mark.parametrize(
    "step", [{"audio": "extract"}, {"frames": "best:3"}], ids=["sound-alone", "stills"]
)
def test_a_step_sent_again_with_its_key_is_replayed_whatever_it_made_of_the_session(
    api: Api, tmp_path: Path, step: dict[str, str]
) -> None:
    """The answer was lost; the step is still to run, and the session's next step would now
    read sound alone, or images: the key's replay answers it, not a refusal of it."""
    clip = api.upload(media.write_video(tmp_path / "c.mp4").read_bytes(), filename="c.mp4")
    session = api.client.post("/sessions", params={"media": clip.json()["id"]}).json()
    params, key = {"session": session["id"], **step}, {"Idempotency-Key": "lost-answer"}

    made = api.client.post("/edit", params=params, headers=key)
    again = api.client.post("/edit", params=params, headers=key)

    assert made.status_code == 202, made.text
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (202, "true")
    assert again.json()["id"] == made.json()["id"]


# A DBA's psql beside the API: enqueue_edit on a session adds its next step without any
# expectation (what a DBA's call means: after whatever is there), while the API's
# enqueue_session_edit adds one only after the step it planned against.
DBA_STEP = "SELECT (editroom.enqueue_edit(NULL, '[]', p_session_id => %s)).id"
FOLLOWS_NOW = """SELECT coalesce(
    (SELECT id FROM editroom.edits
      WHERE session_id = %(session)s AND editroom.edit_still_to_run(status)
      ORDER BY session_step DESC LIMIT 1),
    (SELECT head_edit_id FROM editroom.sessions WHERE id = %(session)s)) AS follows"""
RACED_STEPS = 60  # by each of the API and the DBA


def api_steps(database_url: str, session: UUID, start: threading.Barrier) -> list[dict[str, Any]]:
    """RACED_STEPS steps as the API makes them: planned after the step it reads, made only if
    the session is still so, planned again when not. Each: its id and the step it planned."""
    made = []
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        start.wait()
        for _ in range(RACED_STEPS):
            row = conn.execute(FOLLOWS_NOW, {"session": session}).fetchone()
            assert row is not None
            follows = row["follows"]
            while (step := add_step(conn, session, follows))["id"] is None:
                follows = step["follows_edit_id"]
            made.append({"id": step["id"], "planned_after": follows})
    return made


def dba_steps(database_url: str, session: UUID, start: threading.Barrier) -> list[UUID]:
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        start.wait()
        made = []
        for _ in range(RACED_STEPS):
            row = conn.execute(DBA_STEP, [session]).fetchone()
            assert row is not None
            made.append(row["id"])
        return made


CLAIM = "SELECT * FROM editroom.claim_edit(%s, 'racer')"
COMPLETE = "SELECT editroom.complete_edit(%(id)s, 'racer', %(outputs)s)"
FAIL = "SELECT editroom.fail_edit(%(id)s, 'racer', 'broken', false)"


def run_steps(
    database_url: str, session: UUID, *, output: UUID, fail_every: int, done: threading.Event
) -> None:
    """A runner of this session's steps, as they become claimable: each completed with
    `output`, or every `fail_every`-th failed for good (0: none), until `done` and none is
    left to claim."""
    claimable = """SELECT id FROM editroom.edits
                    WHERE session_id = %s AND status = 'queued' AND blocked_by IS NULL
                    ORDER BY session_step LIMIT 1"""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        for count in itertools.count(1):
            last = done.is_set()  # before the look: a step made after it is seen next time
            row = conn.execute(claimable, [session]).fetchone()
            if row is None:
                if last:
                    return
                time.sleep(IDLE_LOOK_SECONDS)  # not a busy loop on the database
                continue
            if not conn.execute(CLAIM, [row["id"]]).fetchall():
                continue  # failed meanwhile with a step before it
            failing = fail_every and count % fail_every == 0
            end = FAIL if failing else COMPLETE
            conn.execute(end, {"id": row["id"], "outputs": [output]})


def race(conn: Conn, database_url: str, *, fail_every: int) -> tuple[UUID, list[Any], list[Any]]:
    """The API and a DBA add steps to one session at once while a runner finishes them."""
    session = open_session(conn)
    output = insert_media(conn)
    start, done = threading.Barrier(3), threading.Event()
    with ThreadPoolExecutor(3) as pool:
        runner = pool.submit(
            run_steps, database_url, session, output=output, fail_every=fail_every, done=done
        )
        api = pool.submit(api_steps, database_url, session, start)
        dba = pool.submit(dba_steps, database_url, session, start)
        start.wait()
        try:
            by_api, by_dba = api.result(timeout=60), dba.result(timeout=60)
        finally:
            done.set()
        runner.result(timeout=60)
    return session, by_api, by_dba


def test_steps_added_by_a_dba_and_the_api_at_once_stay_one_chain(
    conn: Conn, database_url: str
) -> None:
    """Every step follows the one before it, each API step the one it was planned after, and
    every step made is there once and runs."""
    session, by_api, by_dba = race(conn, database_url, fail_every=0)
    made = steps(conn, session)
    assert len(made) == 2 * RACED_STEPS
    assert {step["id"] for step in made} == {s["id"] for s in by_api} | set(by_dba)
    assert [step["session_step"] for step in made] == list(range(1, 2 * RACED_STEPS + 1))
    for before, after in itertools.pairwise([{"id": None}, *made]):
        assert after["parent_edit_id"] == before["id"], after
    parents = {step["id"]: step["parent_edit_id"] for step in made}
    assert all(parents[step["id"]] == step["planned_after"] for step in by_api)
    statuses = conn.execute(
        "SELECT status, count(*) AS n FROM editroom.edits WHERE session_id = %s GROUP BY 1",
        [session],
    ).fetchall()
    assert statuses == [{"status": "completed", "n": 2 * RACED_STEPS}]


def test_steps_added_at_once_while_some_fail_are_never_left_waiting(
    conn: Conn, database_url: str
) -> None:
    """A step added as the one it follows fails is failed with it, or follows the head: none
    is left waiting for a step that has finished (it would never run)."""
    session, by_api, by_dba = race(conn, database_url, fail_every=2)
    made = conn.execute(
        """SELECT e.id, e.status, e.parent_edit_id, e.blocked_by, b.status AS blocker_status
             FROM editroom.edits e LEFT JOIN editroom.edits b ON b.id = e.blocked_by
            WHERE e.session_id = %s ORDER BY e.session_step""",
        [session],
    ).fetchall()
    assert len(made) == 2 * RACED_STEPS
    assert {step["id"] for step in made} == {s["id"] for s in by_api} | set(by_dba)
    assert [step for step in made if step["status"] == "queued"] == []
    parents = {step["id"]: step["parent_edit_id"] for step in made}
    assert all(parents[step["id"]] == step["planned_after"] for step in by_api)
