"""Workflows: saved from the query grammar or JSON, exported and imported unchanged,
versioned, run one at a time or in batches, deleted softly."""

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg.rows import dict_row

from service.kernel.db import Database
from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.paging import every_page, ids
from tests.queue import Conn, disable_backoff, insert_sound_alone
from tests.runner_harness import running_runner
from tests.waiting import eventually

README = Path(__file__).parents[2] / "README.md"
FLIP = {"op": "flip", "axis": "h"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path / "data", runner_image_slots=4)


@pytest.fixture
def api(settings: Settings, conn: Conn) -> Iterator[Api]:
    disable_backoff(conn)
    with running_api(settings) as running:
        yield running


def save(api: Api, query: str) -> dict[str, Any]:
    response = api.client.post(f"/workflows?{query}")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def picture(api: Api, size: tuple[int, int] = (80, 60)) -> dict[str, Any]:
    body: dict[str, Any] = api.upload(media.image_bytes("PNG", size=size)).json()
    return body


def test_saved_from_the_query_grammar(api: Api) -> None:
    workflow = save(api, "name=web-thumb&resize=40x&format=webp&quality=80")
    assert (workflow["name"], workflow["version"], workflow["kinds"]) == ("web-thumb", 1, ["image"])
    assert [op["op"] for op in workflow["ops"]] == ["resize", "format"]
    assert workflow["query"] == "resize=40x&format=webp&quality=80"


@pytest.mark.parametrize(
    "query",
    [
        "name=poster&crop=0,0,40,30&color=grayscale&text=Hello&text_size=12",
        "name=small-video&resize=320x&kind=video",  # its JSON would fit an image resize too
        "name=nothing-for-images&noop=&kind=image",
        "name=nothing&noop=",
    ],
)
def test_export_imports_unchanged(api: Api, query: str) -> None:
    original = save(api, query)
    exported = api.client.get(original["url"]).json()
    assert api.client.delete(original["url"]).status_code == 204  # as into another editroom
    imported = api.client.post("/workflows", json=exported)
    assert imported.status_code == 201, imported.text
    again = api.client.get(imported.json()["url"]).json()
    assert again["id"] != original["id"]
    for field in ("name", "ops", "kinds"):
        assert again[field] == exported[field]


def test_importing_an_export_again_answers_the_workflow_it_is(api: Api) -> None:
    original = save(api, "name=web-thumb&resize=40x&format=webp")
    exported = api.client.get(original["url"]).json()
    for _ in range(2):
        imported = api.client.post("/workflows", json=exported)
        assert imported.status_code == 200, imported.text
        assert (imported.json()["id"], imported.json()["version"]) == (original["id"], 1)
    again = api.client.post("/workflows?name=web-thumb&resize=40x&format=webp")
    assert (again.status_code, again.json()["id"]) == (200, original["id"])
    listed = api.client.get("/workflows").json()["items"]
    assert [workflow["id"] for workflow in listed] == [original["id"]]


def test_the_same_name_with_other_operations_is_a_conflict(api: Api) -> None:
    original = save(api, "name=web-thumb&resize=40x")
    other = {"name": "web-thumb", "ops": [{"op": "flip", "axis": "h"}]}
    response = api.client.post("/workflows", json=other)
    assert response.status_code == 409, response.text
    assert original["id"] in response.json()["detail"]
    assert f"PUT /workflows/{original['id']}" in response.json()["detail"]
    kinds_differ = api.client.post("/workflows?name=web-thumb&resize=40x&kind=image")
    assert kinds_differ.status_code == 409  # the saved one fits videos too
    assert api.client.get(original["url"]).json()["version"] == 1


def test_a_new_version_keeps_the_name_when_none_is_given(api: Api) -> None:
    workflow = save(api, "name=clip&resize=40x")
    query = api.client.put(workflow["url"] + "?resize=20x")
    assert query.status_code == 200, query.text
    assert (query.json()["name"], query.json()["version"]) == ("clip", 2)
    as_json = api.client.put(workflow["url"], json={"ops": [{"op": "flip", "axis": "v"}]})
    assert as_json.status_code == 200, as_json.text
    assert (as_json.json()["name"], as_json.json()["version"]) == ("clip", 3)
    renamed = api.client.put(workflow["url"] + "?name=small&resize=20x").json()
    assert (renamed["name"], renamed["version"]) == ("small", 4)


def test_a_new_name_must_not_be_another_workflows(api: Api) -> None:
    taken = save(api, "name=taken&flip=h")
    workflow = save(api, "name=free&flip=v")
    response = api.client.put(workflow["url"] + "?name=taken&flip=v")
    assert response.status_code == 409
    assert taken["id"] in response.json()["detail"]


def test_a_later_version_exports_and_imports_unchanged(api: Api) -> None:
    original = save(api, "name=clip&trim=1,2&kind=video")
    put = api.client.put(original["url"] + "?name=clip&resize=320x&kind=video")
    assert put.status_code == 200, put.text
    exported = api.client.get(original["url"]).json()
    assert exported["version"] == 2
    api.client.delete(original["url"])
    imported = api.client.post("/workflows", json=exported).json()
    assert (imported["ops"], imported["kinds"]) == (exported["ops"], ["video"])
    assert imported["version"] == 1  # a new workflow; the export's history is not its own


def test_imported_kinds_must_all_fit(api: Api) -> None:
    resize = [{"op": "resize", "width": 320, "height": None}]
    both = api.client.post("/workflows", json={"name": "x", "ops": resize,
                                               "kinds": ["image", "video"]})  # fmt: skip
    assert both.status_code == 201, both.text  # each reads it as its own resize=320x
    assert both.json()["kinds"] == ["image", "video"]
    trim = [{"op": "trim", "start": 1.0, "end": 2.0}]
    image = api.client.post("/workflows", json={"name": "y", "ops": trim, "kinds": ["image"]})
    assert image.status_code == 422
    assert image.json()["parameter"] == "ops[0].op"


def test_operations_that_fit_both_kinds(api: Api) -> None:
    assert save(api, "name=nothing&noop=")["kinds"] == ["image", "video"]
    assert save(api, "name=small-video&resize=320x&kind=video")["kinds"] == ["video"]
    both = save(api, "name=small&resize=320x")
    assert (both["kinds"], both["ops"]) == (
        ["image", "video"], [{"op": "resize", "width": 320, "height": None}],
    )  # fmt: skip
    resize = [{"op": "resize", "width": 320, "height": 240}]
    imported = api.client.post("/workflows", json={"name": "box", "ops": resize}).json()
    assert imported["kinds"] == ["image", "video"]
    image_only = save(api, "name=cover&resize=320x240&fit=cover")  # videos have no fit
    assert image_only["kinds"] == ["image"]


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("resize=40x", "name"),
        ("name=x&resize=huge", "resize"),
        ("name=x&vignette=1", "vignette"),
        ("name=x&resize=40x&kind=audio", "kind"),
        ("name=x", "operations"),
        ("name=a%00b&resize=40x", "name"),  # PostgreSQL's text cannot hold a NUL
        ("name=a%1Bb&resize=40x", "name"),
        ("name=x&text=a%00b", "text"),  # nor its jsonb a \u0000
        ("name=x&text=a%09b", "text"),  # a tab: no font draws it
    ],
)
def test_a_workflow_that_saves_always_runs(api: Api, query: str, parameter: str) -> None:
    response = api.client.post(f"/workflows?{query}")
    assert response.status_code == 422
    assert response.json()["parameter"] == parameter


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("name=x&trim=1,soon", "not a time"),  # images have no trim: the video's refusal
        (f"name=x&concat={uuid4()}", "no such media"),  # images have no concat
    ],
)
def test_the_refusal_told_is_about_the_value_not_the_kind(
    api: Api, query: str, problem: str
) -> None:
    response = api.client.post(f"/workflows?{query}")
    assert response.status_code == 422
    assert problem in response.json()["detail"]
    assert "applies to" not in response.json()["detail"]


def test_json_is_checked_the_same_way(api: Api) -> None:
    bad = api.client.post("/workflows", json={"name": "x", "ops": [{"op": "resize", "width": -1}]})
    assert bad.status_code == 422
    assert bad.json()["parameter"].startswith("ops[0].")
    not_json = api.client.post(
        "/workflows", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    assert not_json.json()["parameter"] == "body"
    assert not_json.json()["detail"].startswith("the request body is not JSON: ")
    assert "at character 1" in not_json.json()["detail"]
    assert not_json.json()["problem"].startswith("not JSON: ")
    nul = api.client.post("/workflows", json={"name": "x", "ops": [{"op": "text", "text": "a\0"}]})
    assert nul.status_code == 422
    assert nul.json()["parameter"] == "ops[0]"  # the text and its font, checked together
    assert "U+0000" in nul.json()["detail"]
    no_side = api.client.post("/workflows", json={"name": "x", "ops": [{"op": "resize"}]})
    assert no_side.json()["parameter"] == "ops[0]"
    assert "give a width, a height or both" in no_side.json()["detail"]
    assert "Value error" not in no_side.json()["detail"]


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
def test_json_sent_as_another_type_is_a_415_naming_the_type_expected(
    api: Api, conn: Conn, content_type: str | None
) -> None:
    """`curl -d` sends a form's Content-Type: every route that reads a JSON body refuses it the
    same way, naming the type it needs, instead of reading the form's bytes as a model."""
    workflow = save(api, "name=sent-as-a-form&flip=h")
    exported = api.client.get(workflow["url"]).content
    batch = json.dumps({"media": [picture(api)["id"]]}).encode()
    headers = {} if content_type is None else {"content-type": content_type}
    for url, body in (("/workflows", exported), (workflow["url"], exported),
                      (f"{workflow['url']}/run", batch)):  # fmt: skip
        method = "PUT" if url == workflow["url"] else "POST"
        response = api.client.request(method, url, content=body, headers=headers)
        assert response.status_code == 415, response.text
        refused = response.json()
        assert (refused["error"], refused["parameter"]) == (
            "UnsupportedContentType",
            "Content-Type",
        )
        assert refused["value"] == (content_type or "(not given)")
        assert refused["accepted"].startswith("application/json")
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}
    assert api.client.get(workflow["url"]).json()["version"] == 1


def test_malformed_json_sent_without_a_type_is_a_415_too(api: Api) -> None:
    """Its type is what is wrong first: a 415, as for well-formed JSON sent so."""
    response = api.client.post("/workflows", content=b'{"name": "w", "ops": [', headers={})
    assert response.status_code == 415, response.text
    assert response.json()["parameter"] == "Content-Type"


def test_the_readmes_import_works_as_written(api: Api) -> None:
    """The tour exports a workflow with curl and imports the file as it shows: with its
    Content-Type, as a JSON body must be sent."""
    tour = README.read_text().partition("## A tour")[2].partition("## ")[0]
    (command,) = [line for line in tour.splitlines() if "-X POST $API/workflows -" in line]
    assert "-H 'content-type: application/json'" in command and "@web-thumb.json" in command
    workflow = save(api, "name=web-thumb&resize=800x&format=webp")
    exported = api.client.get(workflow["url"]).content  # curl -s $API/workflows/$WF > ...
    assert api.client.delete(workflow["url"]).status_code == 204  # as into another editroom
    response = api.client.post(
        "/workflows", content=exported, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["query"] == "resize=800x&format=webp"


@pytest.mark.parametrize(
    ("url", "document", "parameter"),
    [
        ("/workflows", {"name": "x", "ops": [FLIP], "colour": 1}, "colour"),
        ("/workflows", {"name": "x", "ops": [{**FLIP, "bogus": 1}]}, "ops[0].bogus"),
        ("{run}", {"media": [], "priority": 5}, "priority"),
    ],
)  # fmt: skip
def test_an_unknown_key_of_a_body_is_refused_by_name(
    api: Api, url: str, document: dict[str, Any], parameter: str
) -> None:
    """Unknown keys are refused wherever a body has them, never ignored: a typo in a key
    would otherwise leave the request as if it had not been written."""
    run = f"{save(api, 'name=known-keys&flip=h')['url']}/run"
    response = api.client.post(url.format(run=run), json=document)
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == parameter
    assert response.json()["error"] == "UnknownParameter" or parameter.startswith("ops[")


def test_versions_and_runs(api: Api, settings: Settings) -> None:
    workflow = save(api, "name=thumb&resize=40x")
    with running_runner(settings):
        first = api.client.post(
            f"{workflow['url']}/run", params={"media": picture(api)["id"], "wait": "30"}
        )
        assert first.status_code == 200, first.text
        updated = api.client.put(f"{workflow['url']}?name=thumb&resize=20x").json()
        assert updated["version"] == 2
        second = api.client.post(
            f"{workflow['url']}/run", params={"media": picture(api)["id"], "wait": "30"}
        )
    assert first.json()["ops"][0]["width"] == 40
    assert second.json()["ops"][0]["width"] == 20
    executions = api.client.get(workflow["executions_url"]).json()
    assert [e["id"] for e in executions["items"]] == [second.json()["id"], first.json()["id"]]
    assert executions["counts"]["completed"] == 2
    old = api.client.get(f"{workflow['url']}/versions/1").json()
    assert old["ops"][0]["width"] == 40


def test_a_batch_of_fifty(api: Api, settings: Settings, conn: Conn) -> None:
    workflow = save(api, "name=batch&rotate=90&format=jpeg")
    media_ids = [picture(api, (30 + i, 20))["id"] for i in range(50)]
    response = api.client.post(f"{workflow['url']}/run", json={"media": media_ids})
    assert response.status_code == 202, response.text
    made = response.json()["edits"]
    assert [edit["media_id"] for edit in made] == media_ids
    with running_runner(settings):
        eventually(
            lambda: api.client.get(workflow["executions_url"]).json()["counts"]["completed"] == 50,
            timeout=120, what="all 50 executions",
        )  # fmt: skip
    rows = conn.execute(
        "SELECT DISTINCT workflow_version, trial FROM editroom.edits WHERE workflow_id = %s",
        [workflow["id"]],
    ).fetchall()
    assert rows == [{"workflow_version": 1, "trial": 1}]


def test_workflows_and_executions_page_through_everything_once(api: Api) -> None:
    saved = [save(api, f"name=w{number}&flip=h")["id"] for number in range(5)]
    pages = every_page(api.client, "/workflows", limit=2)
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert ids(pages) == saved[::-1]

    pictures = [picture(api, size=(20 + number, 20))["id"] for number in range(5)]
    run = api.client.post(f"/workflows/{saved[0]}/run", json={"media": pictures})
    assert run.status_code == 202, run.text
    url = api.client.get("/workflows", params={"limit": 500}).json()["items"][-1]["executions_url"]
    pages = every_page(api.client, url, limit=2)
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert sorted(ids(pages)) == sorted(edit["id"] for edit in run.json()["edits"])
    assert ids(pages) == ids(every_page(api.client, url, limit=500))  # newest first, ties by id
    assert [page["counts"]["queued"] for page in pages] == [5, 5, 5]


def test_a_batch_is_all_or_nothing(api: Api, conn: Conn, tmp_path: Path) -> None:
    workflow = save(api, "name=images-only&opacity=0.5")
    video = api.upload(media.write_video(tmp_path / "v.mp4").read_bytes()).json()
    response = api.client.post(
        f"{workflow['url']}/run", json={"media": [picture(api)["id"], video["id"]]}
    )
    assert response.status_code == 422
    assert f"media {video['id']} is a video, and workflow" in response.json()["detail"]
    assert "works on images;" in response.json()["detail"]
    assert response.json()["value"] == video["id"]
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def unfit_batch(api: Api, conn: Conn, folder: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """A workflow for images whose crop reaches x + w = 70, and one media for each way it can
    fit or not: an 80x60 picture it fits; a 64x48 one its crop reaches past; a video; sound
    alone; a picture deleted."""
    workflow = save(api, "name=corner&crop=60,0,10,10&opacity=0.5")
    gone = picture(api, (81, 60))["id"]
    assert api.client.delete(f"/bucket/upload/{gone}").status_code == 204
    return workflow, {
        "fits": picture(api, (80, 60))["id"],
        "too small": picture(api, (64, 48))["id"],
        "video": api.upload(media.write_video(folder / "v.mp4").read_bytes()).json()["id"],
        "sound alone": str(insert_sound_alone(conn, folder)),
        "deleted": gone,
    }


def test_a_batch_can_leave_out_the_media_the_workflow_does_not_fit(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """Each left out with the very refusal a batch of that media alone gets; the others run.
    A retry with the same Idempotency-Key answers the same edits and says the same again."""
    workflow, named = unfit_batch(api, conn, tmp_path)
    unfit = [named[name] for name in ("too small", "video", "sound alone", "deleted")]
    asked = {"media": [unfit[0], named["fits"], *unfit[1:]], "unfit": "leave_out"}
    key = {"Idempotency-Key": str(uuid4())}
    response = api.client.post(f"{workflow['url']}/run", json=asked, headers=key)
    assert response.status_code == 202, response.text
    assert [edit["media_id"] for edit in response.json()["edits"]] == [named["fits"]]
    left_out = response.json()["left_out"]
    assert [left["media"] for left in left_out] == unfit
    for left in left_out:
        alone = api.client.post(f"{workflow['url']}/run", json={"media": [left["media"]]})
        assert (alone.status_code, left["error"]) == (422, alone.json())
    # The problem alone, a field of its own: a client says it without cutting the detail apart.
    assert [left["error"]["problem"] for left in left_out] == [
        "the workflow's crop=60,0,10,10: reaches past the right edge (x + w = 70) of the 64x48 "
        "picture",
        f"media {named['video']} is a video, and workflow {workflow['id']} works on images",
        f"media {named['sound alone']} is sound alone (no picture); video operations need a "
        "picture",
        f"media {named['deleted']} does not exist",
    ]
    for left in left_out:
        error = left["error"]
        assert error["detail"] == (
            f"media='{left['media']}': {error['problem']}; accepted: {error['accepted']}"
        )
    again = api.client.post(f"{workflow['url']}/run", json=asked, headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == response.json()
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 1}


def test_a_replay_answers_what_the_first_answered_whatever_the_workflow_became(
    api: Api, conn: Conn
) -> None:
    """The key's fingerprint holds the workflow's id, not its version: a replay after a new
    version that fits neither media answers the edit and the media left out of the first,
    word for word, where judging again refused it (nothing fits any more)."""
    workflow = save(api, "name=corner&crop=60,0,10,10&opacity=0.5")
    fits, too_small = picture(api, (80, 60))["id"], picture(api, (64, 48))["id"]
    asked = {"media": [too_small, fits], "unfit": "leave_out"}
    key = {"Idempotency-Key": str(uuid4())}
    first = api.client.post(f"{workflow['url']}/run", json=asked, headers=key)
    assert first.status_code == 202, first.text
    assert [left["media"] for left in first.json()["left_out"]] == [too_small]
    put = api.client.put(f"{workflow['url']}?crop=75,0,10,10&opacity=0.5")
    assert put.status_code == 200, put.text

    again = api.client.post(f"{workflow['url']}/run", json=asked, headers=key)

    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (202, "true"), again.text
    assert again.content == first.content
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 1}


def test_without_leave_out_one_unfit_media_refuses_the_batch_as_it_always_has(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """The media named is the first of the first found, in the order refusals have always been
    found: sound alone, then a source the operations cannot fit, then missing or another kind."""
    workflow, named = unfit_batch(api, conn, tmp_path)
    order = ("deleted", "video", "too small", "sound alone", "fits")
    for unfit in ({}, {"unfit": "refuse"}):
        for names, refused in ((order, "sound alone"), (order[:3], "too small"),
                               (order[:2], "deleted")):  # fmt: skip
            asked = {"media": [named[name] for name in names], **unfit}
            response = api.client.post(f"{workflow['url']}/run", json=asked)
            assert response.status_code == 422, response.text
            assert (response.json()["error"], response.json()["value"]) == (
                "InvalidParameter", named[refused],
            )  # fmt: skip
            assert "left_out" not in response.json()
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def test_a_batch_that_leaves_out_every_media_has_nothing_to_run(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    workflow, named = unfit_batch(api, conn, tmp_path)
    unfit = [named["too small"], named["video"]]
    asked = {"media": unfit, "unfit": "leave_out"}
    response = api.client.post(f"{workflow['url']}/run", json=asked)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["error"], body["parameter"], body["value"]) == (
        "NothingFits", "media", ",".join(unfit),
    )  # fmt: skip
    assert body["detail"].startswith(
        f"media='{','.join(unfit)}': none of the 2 media given fits the workflow, so there is "
        "nothing to run; left_out says why of each"
    )
    assert [left["media"] for left in body["left_out"]] == unfit
    for left in body["left_out"]:
        alone = api.client.post(f"{workflow['url']}/run", json={"media": [left["media"]]})
        assert left["error"] == alone.json()
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def test_an_empty_batch_shows_its_value_as_empty(api: Api) -> None:
    workflow = save(api, "name=nothing-to-run&opacity=0.5")
    response = api.client.post(f"{workflow['url']}/run", json={"media": []})
    assert response.status_code == 422
    body = response.json()
    assert (body["parameter"], body["value"]) == ("media", "(empty)")
    assert body["detail"] == "media='(empty)': no media given; accepted: 1 to 1,000 media ids"


def test_a_run_on_sound_alone_is_refused_naming_it(api: Api, conn: Conn, tmp_path: Path) -> None:
    workflow = save(api, "name=quieter&volume=0.5")
    clip = api.upload(media.write_video(tmp_path / "v.mp4").read_bytes()).json()
    sound = str(insert_sound_alone(conn, tmp_path))
    for request in ({"params": {"media": sound}}, {"json": {"media": [clip["id"], sound]}}):
        response = api.client.post(f"{workflow['url']}/run", **request)
        assert response.status_code == 422, response.text
        assert (response.json()["parameter"], response.json()["value"]) == ("media", sound)
        assert "is sound alone (no picture)" in response.json()["detail"]
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def test_deleting_with_executions_in_flight(api: Api, settings: Settings) -> None:
    workflow = save(api, "name=doomed&rotate=90&format=png")
    media_ids = [picture(api, (1200 + i, 900))["id"] for i in range(12)]

    def counts() -> dict[str, int]:
        body: dict[str, int] = api.client.get(workflow["executions_url"]).json()["counts"]
        return body

    with running_runner(settings):
        api.client.post(f"{workflow['url']}/run", json={"media": media_ids})
        eventually(lambda: counts()["processing"] > 0, what="an execution being processed")
        assert api.client.delete(workflow["url"]).status_code == 204
        assert counts()["completed"] < 12  # some were still queued or processing
        run_again = api.client.post(f"{workflow['url']}/run", params={"media": media_ids[0]})
        assert run_again.status_code == 404
        assert workflow["id"] not in [w["id"] for w in api.client.get("/workflows").json()["items"]]
        assert api.client.get(workflow["url"]).json()["deleted_at"] is not None
        # What was queued or running before the delete still finishes, and stays readable.
        eventually(lambda: counts()["completed"] == 12, timeout=120,
                   what="the executions in flight at the delete")  # fmt: skip
    assert len(api.client.get(workflow["executions_url"]).json()["items"]) == 12


def test_a_workflow_for_both_kinds_runs_on_both(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    workflow = save(api, "name=check&resize=32x")
    assert workflow["kinds"] == ["image", "video"]
    video = api.upload(media.write_video(tmp_path / "v.mp4").read_bytes()).json()
    with running_runner(settings):
        for media_id in (picture(api)["id"], video["id"]):
            params = {"media": media_id, "wait": "30"}
            run = api.client.post(f"{workflow['url']}/run", params=params)
            assert run.status_code == 200, run.text
            assert run.json()["status"] == "completed"
            (output,) = run.json()["outputs"]
            assert api.client.get(output["url"]).json()["width"] == 32


def test_workflow_sql_for_a_dba(api: Api, conn: Conn) -> None:
    workflow = save(api, "name=sql&flip=h")
    made = conn.execute(
        "SELECT id FROM editroom.run_workflow(%s, ARRAY[%s]::uuid[])",
        [workflow["id"], picture(api)["id"]],
    ).fetchall()
    assert len(made) == 1
    counts = conn.execute(
        "SELECT status, count FROM editroom.workflow_status_counts WHERE workflow_id = %s",
        [workflow["id"]],
    ).fetchall()
    assert {row["status"]: row["count"] for row in counts}["queued"] == 1
    assert len(counts) == 6


def edits_made(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone()
    assert row is not None
    return int(row["n"])


def run(api: Api, workflow: dict[str, Any], media_id: str, **params: str) -> dict[str, Any]:
    response = api.client.post(f"{workflow['url']}/run", params={"media": media_id, **params})
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_run_made_before_is_reused_and_fresh_runs_it_again(
    api: Api, settings: Settings, conn: Conn
) -> None:
    workflow = save(api, "name=again&resize=32x&format=webp")
    photo = picture(api)["id"]
    with running_runner(settings):
        first = run(api, workflow, photo, wait="30")
        again = api.client.post(f"{workflow['url']}/run", params={"media": photo})
        fresh = run(api, workflow, photo, fresh="true", wait="30")
    assert (first["status"], first["reused"]) == ("completed", False)
    assert (again.status_code, again.json()["id"], again.json()["reused"]) == (
        200, first["id"], True,
    )  # fmt: skip
    assert (fresh["status"], fresh["reused"], fresh["id"] != first["id"]) == (
        "completed", False, True,
    )  # fmt: skip
    assert edits_made(conn) == 2
    executions = api.client.get(workflow["executions_url"]).json()
    assert [e["id"] for e in executions["items"]] == [fresh["id"], first["id"]]


def test_a_run_and_post_edit_reuse_each_others_results(api: Api, settings: Settings) -> None:
    workflow = save(api, "name=shared&resize=24x&format=webp")
    mine, theirs = picture(api, (80, 60))["id"], picture(api, (90, 60))["id"]
    edit = {"resize": "24x", "format": "webp", "wait": "30"}
    with running_runner(settings):
        posted = api.client.post("/edit", params={"media": mine, **edit}).json()
        ran = run(api, workflow, theirs, wait="30")
    by_workflow = run(api, workflow, mine)
    by_post = api.client.post("/edit", params={"media": theirs, **edit}).json()
    assert (by_workflow["id"], by_workflow["reused"]) == (posted["id"], True)
    assert (by_post["id"], by_post["reused"]) == (ran["id"], True)
    assert by_post["workflow_id"] == workflow["id"]


def test_a_run_joins_an_identical_edit_still_queued(api: Api, conn: Conn) -> None:
    photo = picture(api)["id"]
    posted = api.client.post("/edit", params={"media": photo, "flip": "h"}).json()
    workflow = save(api, "name=mirror&flip=h")
    joined = run(api, workflow, photo, fresh="true")  # fresh still joins one under way
    assert (joined["id"], joined["reused"], joined["status"]) == (posted["id"], True, "queued")
    other = save(api, "name=upside-down&flip=v")
    assert run(api, other, photo)["id"] != posted["id"]
    assert edits_made(conn) == 2


def test_a_batch_naming_a_media_twice_makes_one_edit(api: Api, conn: Conn) -> None:
    workflow = save(api, "name=twice&rotate=90&format=png")
    first, second = picture(api, (40, 30))["id"], picture(api, (50, 30))["id"]
    response = api.client.post(f"{workflow['url']}/run", json={"media": [first, second, first]})
    assert response.status_code == 202, response.text
    made = response.json()["edits"]
    assert [edit["media_id"] for edit in made] == [first, second, first]
    assert [edit["reused"] for edit in made] == [False, False, True]
    assert made[2]["id"] == made[0]["id"]
    assert edits_made(conn) == 2


def test_identical_runs_at_once_make_one_edit(api: Api, conn: Conn, database_url: str) -> None:
    """Two connections: the second run waits for the first's transaction, then joins its
    edits; the keys of a batch are locked in one order, so crossed batches cannot deadlock."""
    workflow = save(api, "name=race&flip=h")
    media_ids = [picture(api, (20 + i, 20))["id"] for i in range(2)]
    keys = [hashlib.sha256(f"race {i}".encode()).hexdigest() for i in range(2)]
    call = (
        "SELECT (o.edit).id, o.reused FROM editroom.run_workflow_once("
        "%s, 1, %s::uuid[], %s::text[]) AS o"
    )
    answers: list[list[dict[str, Any]]] = []
    with psycopg.connect(database_url, row_factory=dict_row) as first:
        made = first.execute(call, (workflow["id"], media_ids, keys)).fetchall()

        def second() -> None:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as c:
                crossed = (workflow["id"], media_ids[::-1], keys[::-1])
                answers.append(c.execute(call, crossed).fetchall())

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # held until the first commits
        first.commit()
    thread.join(10)
    assert [row["reused"] for row in made] == [False, False]
    assert answers == [[{"id": row["id"], "reused": True} for row in made[::-1]]]
    assert edits_made(conn) == 2


def test_a_run_of_a_version_no_longer_current_is_refused(api: Api, conn: Conn) -> None:
    workflow = save(api, "name=moving&flip=h")
    api.client.put(f"{workflow['url']}?flip=v")
    key = hashlib.sha256(b"old").hexdigest()
    with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="is at version 2"):
        conn.execute(
            "SELECT * FROM editroom.run_workflow_once(%s, 1, ARRAY[%s]::uuid[], ARRAY[%s])",
            [workflow["id"], picture(api)["id"], key],
        )


@pytest.mark.parametrize("keyed", [False, True], ids=["without a key", "with a key"])
def test_a_workflow_deleted_while_its_run_is_planned_is_a_404_not_the_medias_fault(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    """Deleted after the run read it, before its edits are made: the answer a deleted
    workflow's run gets (404), not a 422 blaming the media for the workflow's absence; with
    an Idempotency-Key too, whose transaction the database's refusal ended."""
    workflow, photo = save(api, "name=going&flip=h"), picture(api)
    fetch_all = Database.fetch_all

    async def deleting(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        if query == "run_workflow_once":
            delete = "SELECT editroom.delete_workflow(%s)"
            await asyncio.to_thread(conn.execute, delete, [workflow["id"]])
        return await fetch_all(database, query, **params)

    monkeypatch.setattr(Database, "fetch_all", deleting)
    key = {"Idempotency-Key": str(uuid4())} if keyed else {}
    response = api.client.post(f"{workflow['url']}/run", params={"media": photo["id"]}, headers=key)

    assert response.status_code == 404, response.text
    assert "was deleted" in response.json()["detail"]


@contextmanager
def deleted_as_the_run_is_made(
    conn: Conn, monkeypatch: pytest.MonkeyPatch, media_id: str
) -> Iterator[None]:
    """Within the block, `media_id` is deleted just before a run's edits are made: after the
    run judged it fit, before the database makes them (run_workflow_once)."""
    fetch_all = Database.fetch_all

    async def deleting(database: Database, query: str, **params: Any) -> list[dict[str, Any]]:
        if query == "run_workflow_once":
            delete = "SELECT editroom.delete_media(%s)"
            await asyncio.to_thread(conn.execute, delete, [media_id])
        return await fetch_all(database, query, **params)

    with monkeypatch.context() as patched:
        patched.setattr(Database, "fetch_all", deleting)
        yield


@pytest.mark.parametrize("keyed", [False, True], ids=["without a key", "with a key"])
def test_a_media_deleted_while_its_run_is_planned_is_refused_as_the_judgement_refuses_it(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    """Deleted after the run judged it, before its edits are made: the database refuses the
    batch (editroom.workflow_version_to_run), and the answer is the refusal a run judging it
    deleted has, word for word; with an Idempotency-Key too, whose transaction the database's
    refusal ended, and which is free again."""
    workflow, kept, going = save(api, "name=gone&flip=h"), picture(api), picture(api, (81, 60))
    asked = {"media": [kept["id"], going["id"]]}
    key = {"Idempotency-Key": str(uuid4())} if keyed else {}
    with deleted_as_the_run_is_made(conn, monkeypatch, going["id"]):
        refused = api.client.post(f"{workflow['url']}/run", json=asked, headers=key)
    judged = api.client.post(f"{workflow['url']}/run", json={"media": [going["id"]]})

    assert (refused.status_code, judged.status_code) == (422, 422), refused.text
    assert refused.json() == judged.json()
    assert refused.json()["problem"] == f"media {going['id']} does not exist"
    again = api.client.post(f"{workflow['url']}/run", json={"media": [kept["id"]]}, headers=key)
    assert again.status_code == 202, again.text


def test_a_media_deleted_while_a_leave_out_run_is_planned_is_named_not_one_left_out(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The database refuses the edits of the media a leave_out judged fit; the refusal names
    the one deleted meanwhile, never one the client asked to have left out (sound alone,
    first in the batch, was named: judged again, it came first)."""
    workflow, kept, going = save(api, "name=gone-too&flip=h"), picture(api), picture(api, (81, 60))
    sound = str(insert_sound_alone(conn, tmp_path))
    asked = {"media": [sound, kept["id"], going["id"]], "unfit": "leave_out"}
    with deleted_as_the_run_is_made(conn, monkeypatch, going["id"]):
        refused = api.client.post(f"{workflow['url']}/run", json=asked)
    assert refused.status_code == 422, refused.text
    assert refused.json()["problem"] == f"media {going['id']} does not exist"
