"""GET /bucket/upload: newest first, filters, keyset pages, and refusals that name the problem."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import media
from tests.api import Api, api_settings, running_api
from tests.paging import every_page
from tests.queue import Conn

# name, kind, uploaded_at (UTC)
LIBRARY = [
    ("a", "image", "2026-11-20T10:00:00+00:00"),
    ("b", "video", "2026-11-21T23:59:59+00:00"),
    ("c", "image", "2026-11-22T00:00:00+00:00"),
    ("d", "image", "2026-11-22T12:30:00+00:00"),
    ("e", "video", "2026-11-23T08:00:00+00:00"),
]


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(api_settings(database_url, tmp_path, "local", None)) as running:
        yield running


@pytest.fixture
def library(conn: Conn) -> dict[str, str]:
    """Media rows with known kinds and times (listing reads rows, not bytes)."""
    ids: dict[str, str] = {}
    for index, (name, kind, uploaded_at) in enumerate(LIBRARY):
        digest = f"{index:064x}"
        row = conn.execute(
            """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key,
                                           original_name, uploaded_at)
               VALUES (%s, %s, 1, %s, %s, %s, %s) RETURNING id""",
            [kind, f"{kind}/x", digest, f"media/{digest[:2]}/{digest}", name, uploaded_at],
        ).fetchone()
        assert row is not None
        ids[name] = str(row["id"])
    return ids


def names(api: Api, **params: Any) -> list[str]:
    response = api.client.get("/bucket/upload", params=params)
    assert response.status_code == 200, response.text
    return [item["original_name"] for item in response.json()["items"]]


def test_newest_first(api: Api, library: dict[str, str]) -> None:
    assert names(api) == ["e", "d", "c", "b", "a"]


def test_by_type(api: Api, library: dict[str, str]) -> None:
    assert names(api, type="image") == ["d", "c", "a"]
    assert names(api, type="video") == ["e", "b"]


@pytest.mark.parametrize(
    ("uploaded_at", "expected"),
    [
        ("2026-11-22", ["d", "c"]),
        ("2026-11-21..2026-11-22", ["d", "c", "b"]),
        ("2026-11-22..", ["e", "d", "c"]),
        ("..2026-11-21", ["b", "a"]),
        ("2026-11-22T06:00:00..2026-11-23T08:00:00", ["e", "d"]),
        # 23:00 UTC on the 21st to 12:00 UTC on the 22nd
        ("2026-11-22T01:00:00+02:00..2026-11-22T13:00:00+01:00", ["c", "b"]),
        ("2026-11-24", []),
        # the ends of what a date holds: the last day has no day after it to end before
        ("9999-12-31", []),
        ("0001-01-01", []),
        ("..9999-12-31", ["e", "d", "c", "b", "a"]),
        ("..9999-12-31T23:59:59.999999", ["e", "d", "c", "b", "a"]),
        ("..9999-12-31T23:59:59.999999-05:00", ["e", "d", "c", "b", "a"]),
        ("2026-11-22..9999-12-31", ["e", "d", "c"]),
        ("0001-01-01T00:00:00+05:00..", ["e", "d", "c", "b", "a"]),
    ],
)
def test_by_upload_time(
    api: Api, library: dict[str, str], uploaded_at: str, expected: list[str]
) -> None:
    assert names(api, uploadedAt=uploaded_at) == expected


def test_filters_combine(api: Api, library: dict[str, str]) -> None:
    assert names(api, type="video", uploadedAt="..2026-11-22") == ["b"]


def test_keyset_pages_cover_everything_once(api: Api, library: dict[str, str]) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = api.client.get("/bucket/upload", params=params).json()
        seen += [item["original_name"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ["e", "d", "c", "b", "a"]


def test_pages_are_stable_when_newer_media_arrive(
    api: Api, library: dict[str, str], conn: Conn
) -> None:
    first = api.client.get("/bucket/upload", params={"limit": 2}).json()
    api.upload(media.image_bytes("PNG", size=(99, 9)), filename="late")
    second = api.client.get(
        "/bucket/upload", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [item["original_name"] for item in second["items"]] == ["c", "b"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"type": "audio"}, "type"),
        ({"uploadedAt": "yesterday"}, "uploadedAt"),
        ({"uploadedAt": "2026-11-23..."}, "uploadedAt"),
        ({"uploadedAt": ".."}, "uploadedAt"),
        ({"uploadedAt": "2026-11-23..2026-11-01"}, "uploadedAt"),
        ({"uploadedAt": "2026-13-01"}, "uploadedAt"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"sort": "oldest"}, "sort"),
        ({"by_address": "maybe"}, "by_address"),
    ],
)
def test_bad_parameters_are_named(api: Api, params: dict[str, str], parameter: str) -> None:
    response = api.client.get("/bucket/upload", params=params)
    assert response.status_code == 422
    body = response.json()
    assert body["parameter"] == parameter
    assert body["value"] == next(iter(params.values()))
    assert body["accepted"]


@pytest.fixture
def copies(conn: Conn, library: dict[str, str]) -> dict[str, str]:
    """Edit outputs between the originals: f and h of edits asked for by name, the rest
    copies result addresses made (thumbnails)."""
    outputs = [("f", False), ("g", True), ("h", False), ("i", True), ("j", True)]
    ids: dict[str, str] = {}
    for index, (name, by_address) in enumerate(outputs):
        digest = f"{index + 100:064x}"
        row = conn.execute(
            """INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key,
                                           original_name, uploaded_at, origin, by_address)
               VALUES ('image', 'image/webp', 1, %s, %s, %s,
                       '2026-11-24T00:00:00+00:00'::timestamptz + %s * interval '1 hour',
                       'edit', %s) RETURNING id""",
            [digest, f"media/{digest[:2]}/{digest}", name, index, by_address],
        ).fetchone()
        assert row is not None
        ids[name] = str(row["id"])
    return ids


def test_copies_made_by_addresses_are_left_out_or_listed_alone(
    api: Api, copies: dict[str, str]
) -> None:
    assert names(api, by_address="false") == ["h", "f", "e", "d", "c", "b", "a"]
    assert names(api, by_address="false", origin="edit") == ["h", "f"]
    assert names(api, by_address="true") == ["j", "i", "g"]
    assert names(api, by_address="true", origin="upload") == []
    assert len(names(api)) == 10
    listed = api.client.get("/bucket/upload", params={"by_address": "true"}).json()["items"]
    assert [item["by_address"] for item in listed] == [True] * 3


@pytest.mark.parametrize("by_address", ["false", "true"])
def test_keyset_pages_with_the_copies_filter_cover_it_once(
    api: Api, copies: dict[str, str], library: dict[str, str], by_address: str
) -> None:
    pages = every_page(api.client, "/bucket/upload", by_address=by_address, limit=2)
    wanted = names(api, by_address=by_address, limit=50)
    assert [item["original_name"] for page in pages for item in page["items"]] == wanted
    assert all(len(page["items"]) == 2 for page in pages[:-1])


def test_media_by_ids_are_the_ones_that_exist(
    api: Api, library: dict[str, str], conn: Conn
) -> None:
    """A page that shows many media reads them in one request (id= repeated): those found,
    newest first; one deleted since, or never made, is simply absent (no 404)."""
    deleted = library["c"]
    assert api.client.delete(f"/bucket/upload/{deleted}").status_code == 204
    never = "00000000-0000-4000-8000-000000000000"
    asked = [library["a"], deleted, library["e"], never, library["d"], library["a"]]
    response = api.client.get("/bucket/upload", params=[("id", id_) for id_ in asked])
    assert response.status_code == 200, response.text
    page = response.json()
    assert [item["original_name"] for item in page["items"]] == ["e", "d", "a"]
    assert page["next_cursor"] is None
    # The other filters still apply, over the media named.
    assert names(api, id=[library["a"], library["b"]], type="video") == ["b"]


def test_media_by_ids_are_at_most_a_page(api: Api, library: dict[str, str]) -> None:
    """As many ids as the page holds (limit, 50 unless said), so the answer is one page; one
    more is refused by name, saying what is accepted. An id named twice counts once."""
    ids = [library["a"]] + [str(uuid.uuid4()) for _ in range(49)]
    assert names(api, id=ids) == ["a"]
    assert names(api, id=ids[:3], limit=3) == ["a"]
    assert names(api, id=[library["a"]] * 3, limit=2) == ["a"]
    too_many: list[tuple[list[str], dict[str, int]]] = [
        ([*ids, str(uuid.uuid4())], {}),
        (ids[:3], {"limit": 2}),
    ]
    for asked, limit in too_many:
        response = api.client.get("/bucket/upload", params={"id": asked, **limit})
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["parameter"], body["value"]) == ("id", f"{len(asked)} ids")
        assert "no more than limit" in body["accepted"]


def test_a_malformed_id_is_refused_by_name(api: Api, library: dict[str, str]) -> None:
    response = api.client.get("/bucket/upload", params={"id": [library["a"], "xyz"]})
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["parameter"], body["value"], body["problem"]) == ("id", "xyz", "not an id")
    assert body["accepted"] == "an id (a UUID)"
