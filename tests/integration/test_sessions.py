"""Editing sessions: steps run in order (enforced by SQL, even with runners racing), the head
moves as they complete, undo and redo move it back and forth without running anything."""

import io
import itertools
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from PIL import Image
from psycopg.errors import DependentObjectsStillExist, ObjectNotInPrerequisiteState

from service.kernel.db import Database, translated_errors
from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.paging import every_page, ids
from tests.queue import (
    Conn,
    attempts,
    complete_by_hand,
    disable_backoff,
    edit,
    fail_by_hand,
    insert_media,
    insert_sound_alone,
)  # fmt: skip
from tests.runner_harness import running_runner
from tests.waiting import eventually

LONG_SESSION_STEPS = 1000


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path / "data")


@pytest.fixture
def api(settings: Settings, conn: Conn) -> Iterator[Api]:
    disable_backoff(conn)
    with running_api(settings) as running:
        yield running


@pytest.fixture
def runners(settings: Settings) -> Iterator[None]:
    """Two runners racing for the same queue."""
    with ExitStack() as stack:
        for name in ("runner-a", "runner-b"):
            stack.enter_context(running_runner(settings.model_copy(update={"runner_name": name})))
        yield


@pytest.fixture
def session(api: Api) -> dict[str, Any]:
    picture = api.upload(media.image_bytes("PNG", size=(64, 48)), filename="s.png").json()
    response = api.client.post("/sessions", params={"media": picture["id"]})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["head"]["media_id"] == picture["id"]
    return body


def step(api: Api, session: dict[str, Any], **ops: str) -> dict[str, Any]:
    response = api.client.post("/edit", params={"session": session["id"], **ops})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def state(api: Api, session: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = api.client.get(session["url"]).json()
    return body


def settled(api: Api, session: dict[str, Any]) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        now = state(api, session)
        return None if now["busy"] else now

    return eventually(done, timeout=60, what="the session's steps to finish")


def head_size(api: Api, session: dict[str, Any]) -> tuple[int, int]:
    content = api.client.get(state(api, session)["head"]["content_url"]).content
    with Image.open(io.BytesIO(content)) as picture:
        return picture.size


def test_steps_run_in_order_under_racing_runners(
    api: Api, runners: None, session: dict[str, Any], conn: Conn
) -> None:
    widths = [60, 56, 52, 48, 44, 40, 36, 32]
    for width in widths:
        step(api, session, resize=f"{width}x", format="png")
    steps = settled(api, session)["steps"]
    assert [s["status"] for s in steps] == ["completed"] * len(widths)
    for before, after in itertools.pairwise(steps):
        assert after["input_media_id"] == before["output_media_ids"][0]
        assert after["follows_edit_id"] == before["edit_id"]
        started = attempts(conn, after["edit_id"])[0]["started_at"]
        assert started >= edit(conn, before["edit_id"])["finished_at"]
    assert head_size(api, session) == (32, 24)
    assert state(api, session)["head"]["edit_id"] == steps[-1]["edit_id"]


def test_a_failing_step_takes_the_later_ones_with_it(
    api: Api, runners: None, session: dict[str, Any]
) -> None:
    first = step(api, session, flip="h")
    failing = step(api, session, headshot="")
    later = step(api, session, rotate="90")
    steps = {s["edit_id"]: s for s in settled(api, session)["steps"]}
    assert steps[first["id"]]["status"] == "completed"
    assert steps[failing["id"]]["status"] == "failed"
    assert "no face found" in steps[failing["id"]]["error"]
    assert steps[later["id"]]["status"] == "failed"
    assert steps[later["id"]]["error"].startswith(
        f"step 2 of the session (edit {failing['id']}) failed: no face"
    )
    assert state(api, session)["head"]["edit_id"] == first["id"]
    assert head_size(api, session) == (64, 48)


def test_undo_and_redo_move_the_head_without_running_anything(
    api: Api, runners: None, session: dict[str, Any], conn: Conn
) -> None:
    original = session["head"]["media_id"]
    smaller = step(api, session, resize="32x", format="png")
    turned = step(api, session, rotate="90")
    settled(api, session)
    edits_before = conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone()

    undone = api.client.post(f"{session['url']}/undo").json()
    assert undone["head"]["edit_id"] == smaller["id"]
    assert (undone["can_undo"], undone["can_redo"]) == (True, True)
    assert head_size(api, session) == (32, 24)
    assert api.client.post(f"{session['url']}/redo").json()["head"]["edit_id"] == turned["id"]
    assert head_size(api, session) == (24, 32)
    api.client.post(f"{session['url']}/undo")
    at_start = api.client.post(f"{session['url']}/undo").json()
    content_url = f"{api.settings.base_url}/bucket/upload/{original}/content"
    assert at_start["head"] == {"edit_id": None, "media_id": original, "content_url": content_url}
    nothing = api.client.post(f"{session['url']}/undo")
    assert nothing.status_code == 409
    assert "nothing to undo" in nothing.json()["detail"]
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == edits_before

    # A new step from the original replaces what redo would bring back.
    flipped = step(api, session, flip="v")
    assert settled(api, session)["head"]["edit_id"] == flipped["id"]
    assert api.client.post(f"{session['url']}/undo").json()["head"]["edit_id"] is None
    assert api.client.post(f"{session['url']}/redo").json()["head"]["edit_id"] == flipped["id"]


def test_undo_waits_for_steps_still_to_run(api: Api, session: dict[str, Any]) -> None:
    step(api, session, flip="h")
    response = api.client.post(f"{session['url']}/undo")
    assert response.status_code == 409
    assert "still to run" in response.json()["detail"]


def test_the_session_decides_the_input_kind_and_refuses_media(
    api: Api, session: dict[str, Any]
) -> None:
    params = {"session": session["id"], "flip": "h"}
    both = api.client.post("/edit", params={**params, "media": session["media_id"]})
    assert both.status_code == 422
    assert both.json()["parameter"] == "media"
    video_op = api.client.post("/edit", params={"session": session["id"], "trim": "0,1"})
    assert "applies to video media" in video_op.json()["detail"]
    unknown = "00000000-0000-0000-0000-000000000000"
    missing = api.client.post("/edit", params={**params, "session": unknown})
    assert (missing.status_code, missing.json()["parameter"]) == (422, "session")


def test_a_step_that_would_read_sound_alone_is_refused(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """A head without a picture (the sound audio=extract kept) takes no video operation, nor
    does the head a step still to run will leave: each is a 422 naming the session."""
    sound = str(insert_sound_alone(conn, tmp_path))
    on_sound = api.client.post("/sessions", params={"media": sound}).json()
    clip = api.upload(media.write_video(tmp_path / "c.mp4").read_bytes(), filename="c.mp4")
    on_clip = api.client.post("/sessions", params={"media": clip.json()["id"]}).json()
    step(api, on_clip, audio="extract")  # still to run: no runner here
    for session in (on_sound, on_clip):
        response = api.client.post("/edit", params={"session": session["id"], "volume": "0.5"})
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["parameter"], body["value"]) == ("session", session["id"])
        assert "its head is sound alone (no picture)" in body["detail"]
    assert [s["status"] for s in api.client.get(on_clip["url"]).json()["steps"]] == ["queued"]


def test_a_step_its_head_makes_impossible_is_refused_naming_the_fact(
    api: Api, session: dict[str, Any], tmp_path: Path
) -> None:
    """The head a step reads is known while no step is still to run (here the original): a
    crop outside it, or a trim from past its end, is a 422 naming the parameter, its value and
    the head's size or length, and nothing is queued. A video's crop is judged as an image's."""
    outside = api.client.post("/edit", params={"session": session["id"], "crop": "60,0,10,10"})
    assert outside.status_code == 422, outside.text
    assert outside.json()["detail"] == (
        "crop='60,0,10,10': reaches past the right edge (x + w = 70) of the 64x48 picture "
        "(the session's head); accepted: a rectangle inside it: x + w <= 64 and y + h <= 48"
    )
    clip = api.upload(media.write_video(tmp_path / "c.mp4").read_bytes(), filename="c.mp4")
    on_clip = api.client.post("/sessions", params={"media": clip.json()["id"]}).json()
    for ops, said in [
        ({"trim": "12.5"}, "trim='12.5': starts at 12.5 s, after the end of the 1 s video"),
        ({"crop": "0,0,66,10"}, "crop='0,0,66,10': reaches past the right edge (x + w = 66)"),
        ({"rotate": "90", "crop": "0,0,60,10"}, "crop='0,0,60,10': reaches past the right edge"),
    ]:
        response = api.client.post("/edit", params={"session": on_clip["id"], **ops})
        assert response.status_code == 422, response.text
        assert response.json()["detail"].startswith(said), response.json()
        assert "(the session's head)" in response.json()["detail"]
    for refused in (session, on_clip):
        assert api.client.get(refused["url"]).json()["steps"] == []
    # A step still to run makes the head the next step reads: not known yet, left to the runner.
    step(api, session, rotate="90")
    step(api, session, crop="60,0,10,10")


def test_a_step_is_judged_by_the_head_a_completed_step_made(
    api: Api, runners: None, session: dict[str, Any]
) -> None:
    step(api, session, rotate="90")
    settled(api, session)
    response = api.client.post("/edit", params={"session": session["id"], "crop": "0,0,60,10"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(
        "crop='0,0,60,10': reaches past the right edge (x + w = 60) of the 48x64 picture "
        "(the session's head)"
    )
    assert [s["status"] for s in state(api, session)["steps"]] == ["completed"]
    step(api, session, crop="0,0,40,60")
    assert settled(api, session)["steps"][-1]["status"] == "completed"
    assert head_size(api, session) == (40, 60)


def test_opening_one_on_a_media_that_does_not_exist_is_a_422_naming_it(api: Api) -> None:
    """A missing thing named by an action's query is that parameter's fault (422), as for POST
    /edit?media=; a missing resource in the path is a 404."""
    missing = str(uuid4())
    response = api.client.post("/sessions", params={"media": missing})
    assert response.status_code == 422
    body = response.json()
    assert (body["parameter"], body["value"], body["error"]) == (
        "media", missing, "InvalidParameter",
    )  # fmt: skip
    edit = api.client.post("/edit", params={"media": missing, "flip": "h"}).json()
    assert {k: edit[k] for k in ("parameter", "accepted")} == {
        k: body[k] for k in ("parameter", "accepted")
    }
    assert api.client.get(f"/sessions/{missing}").status_code == 404


def test_list_and_delete(api: Api, session: dict[str, Any], conn: Conn) -> None:
    queued = step(api, session, flip="h")
    waiting = step(api, session, flip="v")
    listed = api.client.get("/sessions", params={"media": session["media_id"]}).json()["items"]
    assert [s["id"] for s in listed] == [session["id"]]
    assert api.client.delete(session["url"]).status_code == 204
    assert api.client.get(session["url"]).status_code == 404
    statuses = {
        row["id"]: row["status"]
        for row in conn.execute("SELECT id::text, status::text FROM editroom.edits")
    }
    assert statuses == {queued["id"]: "cancelled", waiting["id"]: "cancelled"}


def test_a_page_of_sessions_is_one_query(
    api: Api, session: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    other = api.upload(media.image_bytes("PNG", size=(30, 20)), filename="o.png").json()
    opened, on_other = [session["id"]], []
    for number in range(11):
        target = other["id"] if number % 2 else session["media_id"]
        opened.append(api.client.post("/sessions", params={"media": target}).json()["id"])
        on_other += opened[-1:] if number % 2 else []
    step(api, {"id": opened[3]}, flip="h")
    queries = counting_queries(monkeypatch)

    pages = every_page(api.client, "/sessions", limit=5)

    assert queries == ["session_states"] * 3
    assert [len(page["items"]) for page in pages] == [5, 5, 2]
    assert ids(pages) == opened[::-1]
    monkeypatch.undo()
    listed = [item for page in pages for item in page["items"]]
    assert [item["busy"] for item in listed] == [item["id"] == opened[3] for item in listed]
    for item in listed:
        assert item == {**api.client.get(item["url"]).json(), "steps": None}
    only_other = every_page(api.client, "/sessions", media=other["id"], limit=2)
    assert ids(only_other) == on_other[::-1]


def counting_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The named queries the service runs from now on, in order."""
    queries: list[str] = []
    fetch_all = Database.fetch_all

    async def counted(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        queries.append(query)
        return await fetch_all(database, query, **params)

    monkeypatch.setattr(Database, "fetch_all", counted)
    return queries


def test_a_step_output_is_deleted_only_with_its_session(
    api: Api, runners: None, session: dict[str, Any]
) -> None:
    smaller = step(api, session, resize="32x", format="png")
    head = settled(api, session)["head"]
    assert head["edit_id"] == smaller["id"]
    refused = api.client.delete(f"/bucket/upload/{head['media_id']}")
    assert refused.status_code == 409
    assert f"step 1 of session {session['id']}" in refused.json()["detail"]
    # The same as fields, for a client to follow: the session, its step, and its original.
    assert refused.json() | {"detail": ""} == {
        "detail": "",
        "error": "HeldBySession",
        "session_id": session["id"],
        "session_step": 1,
        "session_media_id": session["media_id"],
    }
    assert api.client.get(session["url"]).status_code == 200
    assert [s["id"] for s in api.client.get("/sessions").json()["items"]] == [session["id"]]
    assert api.client.delete(session["url"]).status_code == 204
    assert api.client.delete(f"/bucket/upload/{head['media_id']}").status_code == 204


def test_a_refusal_says_in_words_the_step_its_fields_name(
    api: Api, runners: None, session: dict[str, Any]
) -> None:
    """A result two sessions' steps made: the words and the fields name the same step, the
    first of the oldest session that made it (the words named whichever row came first: here
    the newer session's, whose step made it before the older's did)."""
    newer = api.client.post("/sessions", params={"media": session["media_id"]}).json()
    step(api, newer, flip="h")
    flipped = settled(api, newer)["head"]["media_id"]
    step(api, session, flip="v")
    step(api, session, rotate="180")  # the same pixels as flip=h: the same media
    assert settled(api, session)["head"]["media_id"] == flipped

    refused = api.client.delete(f"/bucket/upload/{flipped}")

    assert refused.status_code == 409
    assert (refused.json()["session_id"], refused.json()["session_step"]) == (session["id"], 2)
    assert f"is the output of step 2 of session {session['id']}" in refused.json()["detail"]


def test_only_delete_medias_own_sqlstate_is_held_by_session(conn: Conn) -> None:
    """PostgreSQL's own dependent_objects_still_exist (2BP01), which delete_media raised, is any
    query's (a view on a table dropped, here): it was answered as a session holding a media."""
    conn.execute("CREATE TABLE held (n int); CREATE VIEW on_held AS SELECT n FROM held")
    with pytest.raises(DependentObjectsStillExist), translated_errors():
        conn.execute("DROP TABLE held")


def test_an_original_that_is_also_a_steps_output_is_deleted_with_its_session(
    api: Api, runners: None
) -> None:
    """Two flips give the original's bytes back: the step's output is the original itself
    (one media per content), and deleting the original deletes its sessions, as always."""
    picture = api.upload(media.image_bytes("PNG", size=(64, 48)), filename="s.png").json()
    flipped = api.client.post(
        "/edit", params={"media": picture["id"], "flip": "h", "format": "png", "wait": "30"}
    ).json()
    (output,) = flipped["outputs"]  # made by editroom's encoder, as the steps are
    original = output["id"]
    session = api.client.post("/sessions", params={"media": original}).json()
    for _ in range(2):
        step(api, session, flip="h", format="png")
        settled(api, session)
    assert state(api, session)["head"]["media_id"] == original
    assert api.client.delete(f"/bucket/upload/{original}").status_code == 204
    assert api.client.get(session["url"]).status_code == 404


def test_pruning_keeps_a_sessions_history_until_it_is_deleted(
    api: Api, runners: None, session: dict[str, Any], conn: Conn
) -> None:
    smaller = step(api, session, resize="32x", format="png")
    turned = step(api, session, rotate="90")
    settled(api, session)
    conn.execute("UPDATE editroom.edits SET finished_at = now() - interval '90 days'")
    archive_and_prune = """SELECT editroom.archive_finished_edits('1 hour')
                                  + editroom.prune_finished_edits('30 days') AS n"""
    assert conn.execute(archive_and_prune).fetchone() == {"n": 0}
    assert api.client.post(f"{session['url']}/undo").json()["head"]["edit_id"] == smaller["id"]
    assert api.client.post(f"{session['url']}/redo").json()["head"]["edit_id"] == turned["id"]
    assert api.client.delete(session["url"]).status_code == 204
    assert conn.execute("SELECT editroom.archive_finished_edits('1 hour') AS n").fetchone() == {
        "n": 2
    }
    assert conn.execute("SELECT editroom.prune_finished_edits('30 days') AS n").fetchone() == {
        "n": 2
    }


def test_a_step_is_retried_only_when_its_session_has_nothing_else_to_run(
    api: Api, session: dict[str, Any], conn: Conn
) -> None:
    failing = step(api, session, flip="h")
    fail_by_hand(conn, failing["id"], last_trial=True)
    assert steps_by_edit(api, session)[failing["id"]]["retryable"] is True
    pending = step(api, session, flip="h")
    assert steps_by_edit(api, session)[failing["id"]]["retryable"] is False
    with pytest.raises(ObjectNotInPrerequisiteState, match="has edits still to run"):
        conn.execute("SELECT editroom.retry_edit(%s)", [failing["id"]])
    refused = api.client.post(f"/edit/{failing['id']}/retry")
    assert refused.status_code == 409
    assert f"session {session['id']} has edits still to run" in refused.json()["detail"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [pending["id"]])
    assert steps_by_edit(api, session)[failing["id"]]["retryable"] is True
    retried = conn.execute("SELECT status::text FROM editroom.retry_edit(%s)", [failing["id"]])
    assert retried.fetchone() == {"status": "queued"}


def steps_by_edit(api: Api, session: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["edit_id"]: s for s in state(api, session)["steps"]}


def test_a_step_failed_before_it_ran_is_retryable_once_the_one_it_follows_completed(
    api: Api, session: dict[str, Any], conn: Conn
) -> None:
    first = step(api, session, flip="h")
    later = step(api, session, rotate="90")
    fail_by_hand(conn, first["id"], last_trial=True)
    steps = steps_by_edit(api, session)
    assert (steps[later["id"]]["status"], steps[later["id"]]["trial"]) == ("failed", 0)
    assert steps[first["id"]]["trial"] == steps[first["id"]]["max_trials"] == 1
    assert (steps[first["id"]]["retryable"], steps[later["id"]]["retryable"]) == (True, False)
    refused = api.client.post(f"/edit/{later['id']}/retry")
    assert refused.status_code == 409
    assert f"follows edit {first['id']} in its session" in refused.json()["detail"]
    assert api.client.post(f"/edit/{first['id']}/retry").status_code == 200
    assert steps_by_edit(api, session)[later["id"]]["retryable"] is False  # first still to run
    complete_by_hand(conn, first["id"])
    assert steps_by_edit(api, session)[later["id"]]["retryable"] is True
    assert api.client.get(f"/edit/{later['id']}").json()["retryable"] is True
    retried = api.client.post(f"/edit/{later['id']}/retry")
    assert (retried.status_code, retried.json()["status"]) == (200, "queued")
    # It reads what the first made (here, nothing: what that read), in its lane.
    made_on = edit(conn, first["id"])["media_id"]
    assert (retried.json()["media_id"], edit(conn, later["id"])["kind"]) == (str(made_on), "image")


def test_a_step_after_one_that_failed_alike_is_never_retryable(
    api: Api, session: dict[str, Any], conn: Conn
) -> None:
    first = step(api, session, flip="h")
    later = step(api, session, rotate="90")
    fail_by_hand(conn, first["id"], error="no face found", retryable=False)
    steps = steps_by_edit(api, session)
    assert steps[first["id"]]["fails_alike"] is True
    assert (steps[first["id"]]["retryable"], steps[later["id"]]["retryable"]) == (False, False)
    refused = api.client.post(f"/edit/{first['id']}/retry")
    assert refused.status_code == 409
    assert (
        "failed in a way trying again would not change (no face found)"
        in (refused.json()["detail"])
    )


def test_a_step_undone_then_replaced_is_abandoned(
    api: Api, session: dict[str, Any], conn: Conn
) -> None:
    kept = step(api, session, flip="h")
    complete_by_hand(conn, kept["id"])
    undone = step(api, session, flip="v")
    complete_by_hand(conn, undone["id"])
    assert api.client.post(f"{session['url']}/undo").status_code == 200
    assert not any(s["abandoned"] for s in state(api, session)["steps"])  # redo reaches it
    replacing = step(api, session, rotate="90")
    assert steps_by_edit(api, session)[undone["id"]]["abandoned"] is False  # still to run
    complete_by_hand(conn, replacing["id"])
    abandoned = {i: s["abandoned"] for i, s in steps_by_edit(api, session).items()}
    assert abandoned == {kept["id"]: False, undone["id"]: True, replacing["id"]: False}
    assert api.client.post(f"{session['url']}/undo").status_code == 200  # back at kept
    abandoned = {i: s["abandoned"] for i, s in steps_by_edit(api, session).items()}
    assert abandoned == {kept["id"]: False, undone["id"]: True, replacing["id"]: False}


def steps_in_pages(api: Api, session: dict[str, Any], **params: Any) -> list[list[int]]:
    """GET /sessions/{id}, then its older steps page by page: each page's step numbers."""
    pages: list[list[int]] = []
    while True:
        response = api.client.get(session["url"], params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([s["step"] for s in body["steps"]])
        if body["steps_next_cursor"] is None:
            return pages
        params["steps_cursor"] = body["steps_next_cursor"]


def test_a_long_session_answers_its_newest_steps_and_pages_back_to_the_first(
    api: Api, session: dict[str, Any], conn: Conn
) -> None:
    conn.execute(
        """SELECT editroom.enqueue_edit(NULL, '[{"op": "flip", "direction": "h"}]',
                                        p_session_id => %s)
             FROM generate_series(1, 130)""",
        [session["id"]],
    )
    assert steps_in_pages(api, session) == [
        list(range(31, 131)), list(range(1, 31))
    ]  # fmt: skip
    assert steps_in_pages(api, session, steps_limit=50) == [
        list(range(81, 131)), list(range(31, 81)), list(range(1, 31))
    ]  # fmt: skip
    for refused in ({"steps_cursor": "not-a-cursor"}, {"steps_limit": "0"}):
        response = api.client.get(session["url"], params=refused)
        assert response.status_code == 422, response.text
        assert next(iter(refused)) in response.text


def test_the_line_redo_walks_costs_each_step_a_few_pages_however_long_the_session(
    conn: Conn,
) -> None:
    """Undone back to its first step, a session's line is walked forward by redo's choice at
    every read of it (`abandoned`): each step's child was looked for among all the session's
    steps (parent IS NOT DISTINCT FROM: no index), 1.5 s a read at 3,000 steps."""
    original = insert_media(conn)
    session = conn.execute("SELECT id FROM editroom.open_session(%s)", [original]).fetchone()
    assert session is not None
    conn.execute(
        """WITH made AS (SELECT g, gen_random_uuid() AS id FROM generate_series(1, %(n)s) g)
           INSERT INTO editroom.edits (id, media_id, ops, session_id, session_step,
                                       parent_edit_id, status, kind, finished_at, trial)
           SELECT id, %(media)s, '[]', %(session)s, g, lag(id) OVER (ORDER BY g),
                  'completed', 'image', now(), 1
             FROM made""",
        {"n": LONG_SESSION_STEPS, "media": original, "session": session["id"]},
    )
    conn.execute(
        """UPDATE editroom.sessions
              SET head_edit_id = (SELECT id FROM editroom.edits WHERE session_step = 1)""",
    )  # as 999 undos leave it
    conn.execute("ANALYZE editroom.edits")

    with conn.transaction():  # the transaction's own counts of rows read, at once
        line = conn.execute("SELECT count(*) FROM editroom.session_line(%s)", [session["id"]])
        assert line.fetchone() == {"count": LONG_SESSION_STEPS}
        read = conn.execute(
            """SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables
                WHERE relid = 'editroom.edits'::regclass"""
        ).fetchone()
    assert read is not None and read["n"] < 10 * LONG_SESSION_STEPS, read
