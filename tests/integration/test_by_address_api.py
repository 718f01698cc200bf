"""Copies made by result addresses, through the API: GET /edit?by_address= and the edit's
by_address, the library's outputs without the copies, and the live stream telling of an edit
that stops being a copy."""

from pathlib import Path
from typing import Any

import pytest

from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings
from tests.paging import every_page, ids
from tests.queue import Conn
from tests.streams import Stream
from tests.waiting import eventually

THUMB = "resize=32x&format=webp"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path, result_wait_seconds=0.2)


def upload(api: Api, width: int = 64) -> str:
    response = api.upload(media.image_bytes("PNG", size=(width, 48)), filename=f"{width}.png")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def by_address(api: Api, picture: str, written: str = THUMB) -> dict[str, Any]:
    """The edit behind a result address (202 while it is still to finish)."""
    answer = api.client.get(f"/media/{picture}/{written}")
    assert answer.status_code in (200, 202), answer.text
    if answer.status_code == 202:
        body: dict[str, Any] = answer.json()
        return body
    edits = api.client.get("/edit", params={"media": picture, "by_address": "true"}).json()
    return next(e for e in edits["items"] if e["query"] == written)


def thumbnail(api: Api, picture: str) -> None:
    """A thumbnail by its address, asked for again until it is made (the runner runs it)."""
    eventually(
        lambda: api.client.get(f"/media/{picture}/{THUMB}").status_code == 200,
        timeout=30, what="the thumbnail",
    )  # fmt: skip


def listed(api: Api, **params: Any) -> list[str]:
    return ids(every_page(api.client, "/edit", **params))


def test_an_address_edit_is_marked_until_it_is_asked_for_by_name(api: Api) -> None:
    picture = upload(api)
    named = api.client.post("/edit", params={"media": picture, "flip": "h"}).json()
    copy = by_address(api, picture)
    assert (copy["by_address"], named["by_address"]) == (True, False)
    assert api.client.get(copy["url"]).json()["by_address"] is True
    assert listed(api, by_address="false") == [named["id"]]
    assert listed(api, by_address="true") == [copy["id"]]
    assert listed(api) == [copy["id"], named["id"]]
    asked = api.client.post("/edit", params={"media": picture, "resize": "32x", "format": "webp"})
    assert (asked.json()["id"], asked.json()["reused"], asked.json()["by_address"]) == (
        copy["id"], True, False,
    )  # fmt: skip
    assert listed(api, by_address="false") == [copy["id"], named["id"]]
    assert listed(api, by_address="true") == []


def test_keyset_pages_with_the_filter_cover_each_side_once(api: Api) -> None:
    picture = upload(api)
    made: dict[bool, list[str]] = {True: [], False: []}
    for angle in (10, 20, 30, 40, 50):
        made[True].append(by_address(api, picture, f"rotate={angle}")["id"])
        post = api.client.post("/edit", params={"media": picture, "rotate": str(angle + 1)})
        made[False].append(post.json()["id"])
    for mark, expected in made.items():
        pages = every_page(api.client, "/edit", by_address=str(mark).lower(), limit=2)
        assert ids(pages) == expected[::-1]
        assert [len(page["items"]) for page in pages] == [2, 2, 1]
    status = listed(api, by_address="true", status="queued", limit=3)
    assert status == made[True][::-1]


@pytest.mark.parametrize("route", ["/edit", "/bucket/upload"])
def test_a_bad_filter_is_named(api: Api, route: str) -> None:
    answer = api.client.get(route, params={"by_address": "maybe"})
    assert answer.status_code == 422
    body = answer.json()
    assert (body["parameter"], body["value"], body["accepted"]) == (
        "by_address", "maybe", "true or false",
    )  # fmt: skip


def test_the_filters_are_documented(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/edit", "/bucket/upload"):
        (parameter,) = [p for p in paths[path]["get"]["parameters"] if p["name"] == "by_address"]
        assert "result address" in parameter["description"]
    edit_out = api.client.get("/openapi.json").json()["components"]["schemas"]["EditOut"]
    assert "result address" in edit_out["properties"]["by_address"]["description"]


def test_the_library_leaves_out_copies_until_asked_for_by_name(api: Api, runner: None) -> None:
    picture = upload(api)
    thumbnail(api, picture)
    named = api.client.post("/edit", params={"media": picture, "flip": "h", "wait": "30"}).json()
    (output,) = named["outputs"]

    def outputs(**params: str) -> list[str]:
        return ids(every_page(api.client, "/bucket/upload", origin="edit", **params))

    (copy,) = outputs(by_address="true")
    assert outputs(by_address="false") == [output["id"]]
    assert api.client.get(f"/bucket/upload/{copy}").json()["by_address"] is True
    api.client.post("/edit", params={"media": picture, "resize": "32x", "format": "webp"})
    assert outputs(by_address="false") == [output["id"], copy]
    assert outputs(by_address="true") == []


def test_the_live_stream_tells_of_an_edit_no_longer_a_copy(api: Api, streams: list[Stream]) -> None:
    picture = upload(api)
    everything = Stream(api, {}, streams)
    everything.next("stats")
    copy = by_address(api, picture)
    assert everything.next("edit", lambda e: e["id"] == copy["id"])["by_address"] is True
    api.client.post("/edit", params={"media": picture, "resize": "32x", "format": "webp"})
    told = everything.next("edit", lambda e: e["id"] == copy["id"])
    assert (told["by_address"], told["status"]) == (False, "queued")


def test_the_live_stream_tells_of_an_archived_edit_no_longer_a_copy(
    api: Api, runner: None, conn: Conn, streams: list[Stream]
) -> None:
    picture = upload(api)
    thumbnail(api, picture)
    conn.execute("SELECT editroom.archive_finished_edits('0 seconds', 100)")
    assert conn.execute("SELECT count(*) AS n FROM editroom.edit_history").fetchone() == {"n": 1}
    everything = Stream(api, {}, streams)
    everything.next("stats")
    reused = api.client.post("/edit", params={"media": picture, "resize": "32x", "format": "webp"})
    told = everything.next("edit", lambda e: e["id"] == reused.json()["id"])
    assert (told["by_address"], told["status"]) == (False, "completed")


def test_a_copy_uploaded_again_by_a_person_is_no_longer_a_copy(api: Api, runner: None) -> None:
    """As a presigned upload of the same bytes does (complete_pending_media)."""
    picture = upload(api)
    thumbnail(api, picture)
    (copy,) = ids(every_page(api.client, "/bucket/upload", origin="edit", by_address="true"))
    content = api.client.get(f"/media/{picture}/{THUMB}").content

    again = api.upload(content, filename="thumbnail.webp")

    assert again.status_code == 200, again.text
    assert again.json()["id"] == copy
    assert again.json()["by_address"] is False
    assert api.client.get(f"/bucket/upload/{copy}").json()["by_address"] is False
