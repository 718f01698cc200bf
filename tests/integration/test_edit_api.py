"""/edit through the real app, database and a runner doing real image edits."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import (
    Conn,
    claim,
    complete_by_hand,
    fail_by_hand,
    insert_sound_alone,
)  # fmt: skip


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


@pytest.fixture
def picture(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.upload(
        media.image_bytes("PNG", size=(64, 48)), filename="p.png"
    ).json()
    return body


@pytest.fixture
def sound(conn: Conn, tmp_path: Path) -> str:
    """What audio=extract makes: a video media without a picture."""
    return str(insert_sound_alone(conn, tmp_path))


SOUND_ALONE = "is sound alone (no picture); video operations need a picture"


def edit(api: Api, **params: str) -> Any:
    return api.client.post("/edit", params=params)


ENQUEUES = ("enqueue_edit_once", "enqueue_edit_once_admitted")  # an unknown media, a known one


def edits_made(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone()
    assert row is not None
    return int(row["n"])


def output_image(api: Api, body: dict[str, Any]) -> Image.Image:
    (output,) = body["outputs"]
    return Image.open(io.BytesIO(api.client.get(output["content_url"]).content))


@pytest.mark.parametrize(
    ("params", "parameter", "fragment"),
    [
        ({}, "media", "is required"),
        ({"media": "nope"}, "media", "not an id"),
        ({"media": "00000000-0000-0000-0000-000000000000", "flip": "h"}, "media", "no such media"),
        ({"flip": "h", "vignette": "2"}, "vignette", "unknown parameter"),
        ({"flip": "h", "wiat": "5"}, "wiat", "or media | session | wait | priority"),
        ({"flip": "h", "wait": ["1", "2"]}, "wait", "given more than once"),
        ({"trim": "1,2"}, "trim", "applies to video media"),
        ({"crop": "1,2,three,4"}, "crop", "accepted"),
        ({"resize": "100x", "fit": "stretchy"}, "fit", "accepted"),
        ({"fit": "cover"}, "fit", "refines resize"),
        ({"flip": "h", "wait": "600"}, "wait", "0 to 60"),
        ({"flip": "h", "priority": "high"}, "priority", "-1000 to 1000"),
        ({"media": "", "flip": "h"}, "media", "is required"),
        ({"flip": "h", "format": ["png", "jpeg"]}, "format", "given more than once"),
        ({"flip": "h", "vignette": ""}, "vignette", "unknown parameter"),
        ({"rotate": ""}, "rotate", "accepted"),
        ({"text": "Hi", "text_position": "2:0.5"}, "text_position", "or x:y (fractions 0..1"),
    ],
)
def test_everything_is_checked_before_anything_is_queued(
    api: Api, conn: Conn, picture: dict[str, Any], params: dict[str, str], parameter: str,
    fragment: str,
) -> None:  # fmt: skip
    query = {"media": picture["id"], **params} if "media" not in params and params else params
    response = edit(api, **query)
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == parameter
    assert fragment in response.json()["detail"]
    assert response.json()["value"] not in ("", None)  # says what was refused
    assert edits_made(conn) == 0


@pytest.mark.parametrize(
    ("params", "value"),
    [({}, "(not given)"), ({"media": "", "flip": "h"}, "(empty)"), ({"session": ""}, "(empty)")],
)
def test_a_missing_id_is_told_as_missing(api: Api, params: dict[str, str], value: str) -> None:
    response = edit(api, **params)
    assert response.status_code == 422, response.text
    assert response.json()["value"] == value


def test_a_format_given_twice_names_the_second(api: Api, picture: dict[str, Any]) -> None:
    params = [("media", picture["id"]), ("format", "png"), ("format", "jpeg")]
    response = api.client.post("/edit", params=params)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("format='jpeg': given more than once")


def test_an_edit_is_queued_with_its_operations_in_order(api: Api, picture: dict[str, Any]) -> None:
    response = api.client.post(
        f"/edit?media={picture['id']}&rotate=90&flip=h&resize=20x&fit=cover&format=webp&quality=70"
    )
    assert response.status_code == 202
    body = response.json()
    assert response.headers["location"] == f"/edit/{body['id']}"
    assert body["status"] == "queued"
    assert [op["op"] for op in body["ops"]] == ["rotate", "flip", "resize", "format"]
    assert body["ops"][2]["fit"] == "cover"
    assert body["ops"][3]["quality"] == 70
    assert api.client.get(body["url"]).json()["id"] == body["id"]


def test_an_edit_shows_its_operations_as_written_and_the_runner_holding_it(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    made = edit(api, media=picture["id"], crop="0,0,32,24", fit="cover", resize="16x").json()
    assert made["query"] == "crop=0,0,32,24&resize=16x&fit=cover"
    assert made["worker"] is None
    claim(conn, "studio-3:4242")
    held = api.client.get(made["url"]).json()
    assert (held["status"], held["worker"]) == ("processing", "studio-3:4242")
    (listed,) = api.client.get("/edit").json()["items"]
    assert (listed["query"], listed["worker"]) == (made["query"], "studio-3:4242")


def test_wait_answers_with_the_finished_edit_and_its_output(
    api: Api, runner: None, picture: dict[str, Any], conn: Conn
) -> None:
    response = edit(api, media=picture["id"], resize="32x", format="jpeg", wait="30")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed"
    assert body["progress"] == 1
    result = output_image(api, body)
    assert (result.format, result.size) == ("JPEG", (32, 24))
    (output,) = body["outputs"]
    produced = api.client.get(output["url"]).json()
    assert produced["source_edit_id"] == body["id"]
    assert produced["source_media_id"] == picture["id"]
    assert produced["original_name"] == "p-edited.jpg"
    assert (produced["origin"], picture["origin"]) == ("edit", "upload")


def test_the_order_of_operations_is_honoured(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    turned_then_cut = api.client.post(
        f"/edit?media={picture['id']}&rotate=90&crop=0,0,10,40&wait=30"
    ).json()
    cut_then_turned = api.client.post(
        f"/edit?media={picture['id']}&crop=0,0,10,40&rotate=90&wait=30"
    ).json()
    assert output_image(api, turned_then_cut).size == (10, 40)
    assert output_image(api, cut_then_turned).size == (40, 10)


def test_the_same_result_twice_is_one_media(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    first = edit(api, media=picture["id"], flip="v", wait="30").json()
    second = edit(api, media=picture["id"], flip="v", fresh="true", wait="30").json()
    assert first["id"] != second["id"]
    assert first["outputs"][0]["id"] == second["outputs"][0]["id"]


def test_an_impossible_edit_fails_once_with_a_reason(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    body = edit(api, media=picture["id"], headshot="", wait="30").json()
    assert body["status"] == "failed"
    assert body["trial"] == 1
    assert body["error"] == "no face found in the image; headshot needs a visible frontal face"


def test_list_filter_and_count(api: Api, conn: Conn, picture: dict[str, Any]) -> None:
    made = [edit(api, media=picture["id"], rotate=str(turn)).json()["id"] for turn in range(5)]
    api.client.delete(f"/edit/{made[0]}")
    page = api.client.get("/edit", params={"limit": 3}).json()
    rest = api.client.get("/edit", params={"limit": 3, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["items"] + rest["items"]] == made[::-1]
    assert rest["next_cursor"] is None
    cancelled = api.client.get("/edit", params={"status": "cancelled"}).json()["items"]
    assert [e["id"] for e in cancelled] == [made[0]]
    assert len(api.client.get("/edit", params={"media": picture["id"]}).json()["items"]) == 5
    stats = {row["status"]: row["count"] for row in api.client.get("/edit/stats").json()}
    assert stats == {"queued": 4, "processing": 0, "completed": 0, "error": 0, "failed": 0,
                     "cancelled": 1}  # fmt: skip
    bad = api.client.get("/edit", params={"status": "done"})
    assert (bad.status_code, bad.json()["parameter"]) == (422, "status")


def test_cancel(api: Api, picture: dict[str, Any]) -> None:
    made = edit(api, media=picture["id"], flip="h").json()
    cancelled = api.client.delete(made["url"])
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert api.client.delete(made["url"]).status_code == 200  # already cancelled: fine
    assert api.client.delete("/edit/00000000-0000-0000-0000-000000000000").status_code == 404


def test_a_finished_edit_cannot_be_cancelled(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    done = edit(api, media=picture["id"], flip="h", wait="30").json()
    response = api.client.delete(done["url"])
    assert response.status_code == 409
    assert "it can no longer be cancelled" in response.json()["detail"]


FAILS_ALIKE = "failed in a way trying again would not change (not an image); change its operations"

# How an edit came to its end, whether Retry may help (`retryable`), and if not, why.
RETRY_CASES = {
    "cancelled": (True, None),
    "failed on its last trial": (True, None),  # a lost runner, storage down: it may succeed
    "failed alike": (False, FAILS_ALIKE),  # the runner said so, its trials not used up
    "failed alike on its last trial": (False, FAILS_ALIKE),  # trials alone cannot tell
    "completed": (False, "is completed, not failed or cancelled"),
}


def end_by_hand(api: Api, conn: Conn, made: dict[str, Any], end: str) -> None:
    if end == "cancelled":
        api.client.delete(made["url"])
    elif end == "completed":
        complete_by_hand(conn, made["id"])
    else:
        fail_by_hand(
            conn, made["id"], error="not an image", retryable="alike" not in end,
            last_trial="last trial" in end,
        )  # fmt: skip


@pytest.mark.parametrize("end", RETRY_CASES)
def test_retryable_says_what_retry_does(
    api: Api, conn: Conn, picture: dict[str, Any], end: str
) -> None:
    retryable, refusal = RETRY_CASES[end]
    made = edit(api, media=picture["id"], flip="h").json()
    assert made["retryable"] is False  # queued: it runs by itself
    end_by_hand(api, conn, made, end)
    read = api.client.get(made["url"]).json()
    assert (read["retryable"], read["fails_alike"]) == (retryable, "alike" in end)
    (listed,) = api.client.get("/edit", params={"media": picture["id"]}).json()["items"]
    assert listed["retryable"] is retryable
    answer = api.client.post(f"{made['url']}/retry")
    if retryable:
        assert answer.status_code == 200, answer.text
        assert (answer.json()["status"], answer.json()["retryable"]) == ("queued", False)
    else:
        assert answer.status_code == 409
        assert f"edit {made['id']} " in answer.json()["detail"]
        assert refusal in answer.json()["detail"]
        assert api.client.get(made["url"]).json()["status"] == read["status"]


def test_an_edit_retried_after_a_cancel_that_then_fails_alike_is_not_retryable(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    """Cancelled on its last trial, retried (one more trial allowed), then failed for good on
    that trial: its trials are used up, yet trying again would fail the same way."""
    made = edit(api, media=picture["id"], flip="h").json()
    conn.execute("UPDATE editroom.edits SET max_trials = 1 WHERE id = %s", [made["id"]])
    claim(conn, "w")
    assert api.client.delete(made["url"]).json()["retryable"] is True
    assert api.client.post(f"{made['url']}/retry").status_code == 200
    claim(conn, "w")
    failed = conn.execute(
        "SELECT * FROM editroom.fail_edit(%s, 'w', 'not an image', false)", [made["id"]]
    ).fetchone()
    assert failed is not None and failed["trial"] == failed["max_trials"] == 2
    assert api.client.get(made["url"]).json()["retryable"] is False
    answer = api.client.post(f"{made['url']}/retry")
    assert (answer.status_code, FAILS_ALIKE in answer.json()["detail"]) == (409, True)


def sse_events(api: Api, url: str) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    with api.client.stream("GET", url) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_events_follow_an_edit_to_its_end(api: Api, runner: None, picture: dict[str, Any]) -> None:
    made = edit(api, media=picture["id"], resize="16x", format="png").json()
    events = sse_events(api, made["events_url"])
    statuses = [name for name, _ in events]
    assert statuses[-1] == "completed"
    assert set(statuses) <= {"queued", "processing", "completed"}
    assert events[-1][1]["outputs"]
    progress = [body["progress"] for _, body in events if body["progress"] is not None]
    assert progress == sorted(progress)


def test_events_of_a_finished_edit_end_at_once(api: Api, picture: dict[str, Any]) -> None:
    made = edit(api, media=picture["id"], flip="h").json()
    api.client.delete(made["url"])
    assert [name for name, _ in sse_events(api, made["events_url"])] == ["cancelled"]
    assert api.client.get("/edit/00000000-0000-0000-0000-000000000000/events").status_code == 404


@pytest.mark.parametrize(
    ("accept", "format"),
    [("image/avif,image/webp,*/*", "avif"), ("image/webp,image/*;q=0.8", "webp"),
     ("image/avif;q=0,image/webp", "webp"), ("*/*", "jpeg"), (None, "jpeg")],
)  # fmt: skip
def test_format_auto_is_chosen_from_accept_and_recorded(
    api: Api, picture: dict[str, Any], accept: str | None, format: str
) -> None:
    headers = {"Accept": accept or ""}
    response = api.client.post(
        "/edit", params={"media": picture["id"], "format": "auto"}, headers=headers
    )
    assert response.status_code == 202, response.text
    (recorded,) = response.json()["ops"]
    assert (recorded["format"], recorded["auto"]) == (format, True)


def test_format_auto_writes_what_the_browser_accepts(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    response = api.client.post(
        "/edit", params={"media": picture["id"], "format": "auto", "quality": "auto", "wait": "30"},
        headers={"Accept": "image/avif,image/webp,*/*"},
    )  # fmt: skip
    body = response.json()
    assert body["status"] == "completed", body
    assert output_image(api, body).format == "AVIF"


def test_overlay_reads_another_image_of_the_library(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    blue = io.BytesIO()
    Image.new("RGB", (16, 12), (0, 0, 255)).save(blue, "PNG")
    logo = api.upload(blue.getvalue(), filename="logo.png").json()
    response = edit(api, media=picture["id"], overlay=logo["id"], overlay_gravity="nw",
                    format="png", wait="30")  # fmt: skip
    body = response.json()
    assert body["status"] == "completed", body
    result = output_image(api, body).convert("RGB")
    assert result.size == (64, 48)
    assert result.getpixel((2, 2)) == (0, 0, 255)


@pytest.mark.parametrize("which", ["missing", "video"])
def test_an_overlay_must_name_an_uploaded_image(
    api: Api, picture: dict[str, Any], tmp_path: Path, which: str
) -> None:
    if which == "video":
        video = media.write_video(tmp_path / "v.mp4")
        other = api.upload(video.read_bytes(), filename="v.mp4").json()["id"]
    else:
        other = "00000000-0000-0000-0000-000000000000"
    response = edit(api, media=picture["id"], overlay=other)
    assert response.status_code == 422
    assert response.json()["parameter"] == "overlay"


def test_a_full_queue_is_refused_first_and_a_queue_with_room_admits(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    """The queue's length is read with the media, in one query: its answer still comes first."""
    settings = quick_settings(database_url, tmp_path / "full", max_queued=2)
    with running_api(settings) as api:
        photo = api.upload(media.image_bytes("PNG", size=(40, 30))).json()["id"]
        admitted = [edit(api, media=photo, rotate=str(degrees)) for degrees in (90, 180)]
        full = edit(api, media=photo, rotate="270")
        unknown = edit(api, media="0f8fad5b-d9cb-469f-a165-70867728950e", rotate="90")
        conn.execute("UPDATE editroom.edits SET status = 'cancelled'")
        room_again = edit(api, media=photo, rotate="270")
        # A batch the queue could never hold is no "try again later" (429), but a 422.
        workflow = api.client.post("/workflows", params={"name": "turn", "rotate": "90"}).json()
        others = [api.upload(media.image_bytes("PNG", size=(41 + i, 30))).json()["id"]
                  for i in range(2)]  # fmt: skip
        never = api.client.post(f"{workflow['url']}/run", json={"media": [photo, *others]})
    assert [response.status_code for response in admitted] == [202, 202]
    assert never.status_code == 422, never.text
    assert never.json()["accepted"] == "1 to 2 media ids (EDITROOM_MAX_QUEUED)"
    assert (full.status_code, unknown.status_code) == (429, 429)
    assert "the queue holds 2 edits waiting to run" in full.json()["detail"]
    assert room_again.status_code == 202, room_again.text
    assert edits_made(conn) == 3


def test_a_retry_is_admitted_as_a_new_edit_is(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    """Cancel and retry in bulk: no way past EDITROOM_MAX_QUEUED."""
    settings = quick_settings(database_url, tmp_path / "full", max_queued=2)
    with running_api(settings) as api:
        photo = api.upload(media.image_bytes("PNG", size=(40, 30))).json()["id"]
        made = [edit(api, media=photo, rotate=str(degrees)).json() for degrees in (90, 180, 270)]
        assert [answer.get("status") for answer in made[:2]] == ["queued", "queued"]
        api.client.delete(made[0]["url"])
        third = edit(api, media=photo, rotate="270")  # room for it now
        refused = api.client.post(f"{made[0]['url']}/retry")
    assert third.status_code == 202
    assert refused.status_code == 429, refused.text
    assert "the queue holds 2 edits waiting to run" in refused.json()["detail"]
    assert refused.headers["retry-after"].isdigit()


def test_a_waited_edit_is_read_once_it_has_finished_and_not_before(
    api: Api, runner: None, picture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wait is subscribed before the edit is made: the row the making returns is where
    it starts, and the edit is read once, when its completion is announced."""
    database = api.client.app.state.edits._database  # type: ignore[attr-defined]
    reads: list[Any] = []
    fetch_one = database.fetch_one

    async def spy(query: str, **params: Any) -> Any:
        if query == "edit_by_id":
            reads.append(params["id"])
        return await fetch_one(query, **params)

    monkeypatch.setattr(database, "fetch_one", spy)
    response = edit(api, media=picture["id"], rotate="90", wait="30")
    assert (response.status_code, response.json()["status"]) == (200, "completed")
    assert [str(read) for read in reads] == [response.json()["id"]]


def test_an_edit_of_a_media_the_service_knows_is_made_in_one_round_trip(
    api: Api, picture: dict[str, Any], conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A media's kind and bytes never change: the second edit of it skips the look-up, and
    the statement that makes it checks admission and that the media is still there."""
    database = api.client.app.state.edits._database  # type: ignore[attr-defined]
    queries: list[str] = []
    fetch_all = database.fetch_all

    async def spy(query: str, **params: Any) -> Any:  # fetch_one calls it too
        queries.append(query)
        return await fetch_all(query, **params)

    monkeypatch.setattr(database, "fetch_all", spy)
    first = edit(api, media=picture["id"], flip="h")
    looked_up = list(queries)
    queries.clear()
    second = edit(api, media=picture["id"], flip="v")
    assert (first.status_code, second.status_code) == (202, 202)
    assert (looked_up, queries) == (
        ["media_to_edit", "enqueue_edit_once"],
        ["enqueue_edit_once_admitted"],
    )
    assert (second.json()["status"], second.json()["reused"]) == ("queued", False)
    conn.execute("DELETE FROM editroom.media WHERE id = %s", [picture["id"]])
    gone = edit(api, media=picture["id"], flip="v")  # identical to a queued edit: refused
    assert (gone.status_code, gone.json()["parameter"]) == (422, "media")
    assert "no such media" in gone.json()["detail"]
    assert edits_made(conn) == 2


def test_a_waited_edit_is_queued_without_waiting_for_the_disk_and_answered_durable(
    api: Api, picture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With wait=, the new edit's commit skips the flush (the runner gets it sooner); the
    answer still waits for it: a finished edit's own commit flushed the log, and one still
    queued when the time is up is flushed (flush_commits) before the 202."""
    database = api.client.app.state.edits._database  # type: ignore[attr-defined]
    calls: list[tuple[str, dict[str, Any]]] = []
    fetch_one = database.fetch_one

    async def spy(query: str, **params: Any) -> Any:
        calls.append((query, params))
        return await fetch_one(query, **params)

    monkeypatch.setattr(database, "fetch_one", spy)
    waited = edit(api, media=picture["id"], flip="h", wait="0.2")
    queued = edit(api, media=picture["id"], flip="v")
    enqueued = [params["durable"] for query, params in calls if query in ENQUEUES]
    assert (waited.status_code, queued.status_code, enqueued) == (202, 202, [False, True])
    names = [query for query, _ in calls]
    first, second = (i for i, name in enumerate(names) if name in ENQUEUES)
    assert [i for i, name in enumerate(names) if name == "flush_commits"] == [
        next(i for i in range(first, second) if names[i] == "flush_commits")
    ]  # once, for the waited edit, before the next request


def test_an_edit_of_sound_alone_is_refused_at_once(api: Api, conn: Conn, sound: str) -> None:
    """Every video operation works on the picture: an edit of the sound audio=extract kept
    is a 422 naming it, never an edit that fails when it runs; the second time from the facts
    the service remembers of the media, without looking it up."""
    for _ in range(2):
        response = edit(api, media=sound, volume="0.5")
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["parameter"], body["value"]) == ("media", sound)
        assert SOUND_ALONE in body["detail"]
    assert edits_made(conn) == 0


def test_a_concat_of_sound_alone_is_refused(
    api: Api, conn: Conn, sound: str, tmp_path: Path
) -> None:
    clip = api.upload(media.write_video(tmp_path / "c.mp4").read_bytes(), filename="c.mp4")
    response = edit(api, media=clip.json()["id"], concat=sound)
    assert response.status_code == 422, response.text
    assert (response.json()["parameter"], response.json()["value"]) == ("concat", sound)
    assert SOUND_ALONE in response.json()["detail"]
    assert edits_made(conn) == 0


def test_a_result_its_pictures_size_makes_too_large_is_refused_at_once(
    api: Api, conn: Conn
) -> None:
    """rotate=1 of a 7000x7000 picture makes 7122x7122, over EDITROOM_MAX_PIXELS (50 MP):
    POST answered 202, and the runner refused it as it planned the edit, after fetching the
    image and decoding the PNG to read its EXIF orientation (0.6 s and 335 MiB)."""
    buffer = io.BytesIO()
    Image.new("L", (7000, 7000)).save(buffer, "PNG")
    large = api.upload(buffer.getvalue(), filename="large.png").json()
    refused = edit(api, media=large["id"], flip="h", rotate="1")
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "rotate='1': the result would be 7122x7122 (50.7 MP) on this 7000x7000 image, over the "
        "limit of 50 MP (EDITROOM_MAX_PIXELS); accepted: a result of at most 50,000,000 pixels"
    )
    assert edits_made(conn) == 0
    assert edit(api, media=large["id"], resize="3000x", rotate="1").status_code == 202


def test_what_the_media_makes_impossible_is_refused_at_once(
    api: Api, conn: Conn, picture: dict[str, Any], tmp_path: Path
) -> None:
    """A trim starting after the video's end, a crop outside the picture: the media's facts
    say so before anything is queued, by POST /edit (twice: the second time from the facts
    the service remembers), a result's address and a workflow run alike."""
    clip = api.upload(media.write_video(tmp_path / "c.mp4", seconds=2.0).read_bytes()).json()
    for _ in range(2):
        trim = edit(api, media=clip["id"], trim="00:00:12.5,00:00:20", format="mkv")
        assert trim.status_code == 422, trim.text
        assert trim.json()["detail"] == (
            "trim='12.5,20': starts at 12.5 s, after the end of the 2 s video; "
            "accepted: a START before 2 s, the end of the video"
        )
        crop = edit(api, media=picture["id"], flip="h", crop="60,0,10,10")
        assert crop.status_code == 422, crop.text
        assert crop.json()["detail"] == (
            "crop='60,0,10,10': reaches past the right edge (x + w = 70) of the 64x48 picture; "
            "accepted: a rectangle inside it: x + w <= 64 and y + h <= 48"
        )
    by_address = api.client.get(f"/media/{picture['id']}/crop=60,0,10,10")
    assert (by_address.status_code, by_address.json()["parameter"]) == (422, "crop")
    workflow = api.client.post("/workflows?name=late&trim=12.5").json()
    run = api.client.post(f"{workflow['url']}/run", params={"media": clip["id"]})
    assert run.status_code == 422, run.text
    assert (run.json()["parameter"], run.json()["value"]) == ("media", clip["id"])
    assert "the workflow's trim=12.5: starts at 12.5 s, after the end" in run.json()["detail"]
    assert edits_made(conn) == 0
    resized = edit(api, media=picture["id"], resize="32x", crop="60,0,10,10")
    assert resized.status_code == 202  # 32x24 is not what is known: the runner judges it
