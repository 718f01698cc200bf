"""Hostile clients and inputs against the real app, database, sandbox and local storage: each is
a clear 4xx (or a 503 that says when to come back), and leaves nothing behind."""

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests import media
from tests.api import Api, api_settings, running_api
from tests.hostile import filler_jpeg, frame_bomb_gif, paged_tiff
from tests.queue import Conn


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(database_url, tmp_path / "data", "local", None, max_json_bytes=4096)
    with running_api(settings) as running:
        yield running


def count(conn: Conn, table: str) -> int:
    row = conn.execute(f"SELECT count(*) AS n FROM editroom.{table}").fetchone()  # a constant
    assert row is not None
    return int(row["n"])


def left_behind(api: Api) -> list[Path]:
    """Files in the local bucket and the uploads directory."""
    roots = [api.settings.bucket_dir, api.settings.uploads_dir]
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def assert_nothing_stored(api: Api, conn: Conn) -> None:
    assert count(conn, "media") == 0
    assert left_behind(api) == []


def test_a_frame_bomb_gif_is_refused_before_decoding(api: Api, conn: Conn) -> None:
    response = api.upload(frame_bomb_gif(), filename="bomb.gif")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "1,999 frames on a 7000x7000 canvas" in detail
    assert "the limit is 500,000,000 (EDITROOM_MAX_FRAME_PIXELS)" in detail
    assert "refused before decoding any frame" in detail
    assert_nothing_stored(api, conn)


def test_a_jpeg_claiming_more_than_its_data_holds_is_refused(api: Api, conn: Conn) -> None:
    response = api.upload(filler_jpeg(declared=(7000, 7000)), filename="filler.jpg")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "truncated or corrupt" in detail
    assert "does not fill the 7000x7000 picture its header declares" in detail
    assert_nothing_stored(api, conn)


@pytest.fixture
def small_limits_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    """Pages of 100x100 at most, ten of them in all: the limits' defaults, scaled down so the
    files that break them stay small."""
    settings = api_settings(
        database_url, tmp_path / "data", "local", None, max_pixels=10_000,
        max_frame_pixels=100_000,
    )  # fmt: skip
    with running_api(settings) as running:
        yield running


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            paged_tiff((10, 10), (200, 200)),
            "page 2 of 2: 200x200 is 40,000 pixels; the limit is 10,000 (EDITROOM_MAX_PIXELS)",
        ),
        (
            paged_tiff((10, 10), *[(100, 100)] * 12),
            "the image declares 13 pages of up to 100x100, 120,100 pixels to decode; the limit "
            "is 100,000 (EDITROOM_MAX_FRAME_PIXELS); refused before decoding any page",
        ),
        (paged_tiff((40, 30), (20, 15)), "page 2 is 20x15 but page 1 is 40x30; "),
    ],
    ids=["a-page-over-the-limit", "all-pages-over-the-limit", "pages-of-two-sizes"],
)
def test_a_tiff_is_judged_by_every_page_not_its_first(
    small_limits_api: Api, conn: Conn, content: bytes, said: str
) -> None:
    response = small_limits_api.upload(content, filename="pages.tiff")
    assert response.status_code == 422
    assert response.json()["detail"].startswith(said)
    assert_nothing_stored(small_limits_api, conn)


@pytest.fixture
def one_check_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(
        database_url, tmp_path / "data", "local", None, check_concurrency=1,
        check_wait_seconds=0.5,
    )  # fmt: skip
    with running_api(settings) as running:
        yield running


def test_checks_beyond_the_concurrency_limit_wait_then_get_503(
    one_check_api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One slot, held by a first upload whose check does not finish until released: a second
    upload waits its half second, then is told to come back."""
    library = one_check_api.client.app.state.library  # type: ignore[attr-defined]
    check, started, release = library.sandbox.run, threading.Event(), threading.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        started.set()
        await asyncio.to_thread(release.wait, 30)
        return await check(*args, **kwargs)

    monkeypatch.setattr(library.sandbox, "run", held)
    first: dict[str, Any] = {}
    uploading = threading.Thread(
        target=lambda: first.update(response=one_check_api.upload(media.image_bytes("PNG")))
    )
    uploading.start()
    try:
        assert started.wait(30)
        second = one_check_api.upload(media.image_bytes("JPEG"))
    finally:
        release.set()
        uploading.join(30)
    assert second.status_code == 503
    assert second.headers["retry-after"] == "1"
    assert (
        "all 1 upload checks (EDITROOM_CHECK_CONCURRENCY) stayed busy for 0.5 s"
        in (second.json()["detail"])
    )
    assert first["response"].status_code == 201
    assert count(conn, "media") == 1  # the first only
    (stored,) = left_behind(one_check_api)  # the first's object; no upload's temporary file
    assert stored.is_relative_to(one_check_api.settings.bucket_dir)


def presign(api: Api, size: int) -> dict[str, Any]:
    response = api.client.post("/bucket/upload/presign", params={"size": size})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def with_signature(url: str, signature: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | {"signature": signature}
    return parts._replace(query=urlencode(query)).geturl()


def test_a_non_ascii_signature_is_a_forgery_not_an_error(api: Api, conn: Conn) -> None:
    content = media.image_bytes("PNG")
    ticket = presign(api, len(content))
    response = api.client.put(with_signature(ticket["upload_url"], "é" * 64), content=content)
    assert response.status_code == 403
    assert "signature does not match" in response.json()["detail"]
    assert api.client.post(ticket["complete_url"]).status_code == 409  # nothing arrived
    assert left_behind(api) == []


def test_a_put_over_its_declared_size_names_the_declared_size(api: Api) -> None:
    ticket = presign(api, 100)
    response = api.client.put(ticket["upload_url"], content=b"\0" * 1000)
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert detail == (
        "the upload is larger than 100 bytes (the size declared when it was presigned)"
    )
    assert left_behind(api) == []


def workflow(name: str, ops: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"name": name, "ops": ops or [{"op": "resize", "width": 100}]}


def test_a_json_body_over_the_limit_is_refused_naming_it(api: Api, conn: Conn) -> None:
    filler = [{"op": "resize", "width": 100}] * 1000  # about 30 KB, past the 4 KiB set here
    declared = api.client.post("/workflows", json=workflow("big", filler))
    streamed = api.client.post(
        "/workflows",
        content=iter([json.dumps(workflow("big", filler)).encode()]),  # no Content-Length
        headers={"content-type": "application/json"},
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.json()["detail"] == (
            "the request body is larger than 4,096 bytes (EDITROOM_MAX_JSON_BYTES); uploads "
            "go to POST /bucket/upload"
        )
    assert count(conn, "workflows") == 0
    assert api.client.post("/workflows", json=workflow("small")).status_code == 201


def test_a_body_of_many_problems_is_refused_naming_the_first_and_counting_the_rest(
    api: Api, conn: Conn
) -> None:
    """Each list of a body is read up to its first bad item (a megabyte of bad ids would keep
    the service busy for seconds finding every one); other problems are counted, ten listed."""
    made = api.client.post("/workflows", json=workflow("thumbs")).json()
    bad_ids = api.client.post(f"/workflows/{made['id']}/run", json={"media": ["x"] * 800})
    assert bad_ids.status_code == 422
    assert (bad_ids.json()["parameter"], bad_ids.json()["value"]) == ("media[0]", "x")
    assert "problems" not in bad_ids.json()
    unknown = {**workflow("many"), **{f"key{i}": [0, 1] for i in range(150)}}
    refused = api.client.post("/workflows", json=unknown)
    assert refused.status_code == 422
    body = refused.json()
    assert (body["parameter"], body["value"]) == ("key0", "[0, 1]")
    assert "149 more problems found, the first 9 listed in problems" in body["detail"]
    assert [p["parameter"] for p in body["problems"]] == [f"key{i}" for i in range(10)]
    assert body["problems_not_listed"] == 140
    assert count(conn, "workflows") == 1 and count(conn, "edits") == 0


@pytest.mark.parametrize("how", ["json", "query"])
def test_a_workflow_name_over_200_characters_is_refused(api: Api, conn: Conn, how: str) -> None:
    name = "n" * 1000
    if how == "json":
        response = api.client.post("/workflows", json=workflow(name))
    else:
        response = api.client.post("/workflows", params={"name": name, "resize": "100x"})
    assert response.status_code == 422
    body = response.json()
    assert body["parameter"] == "name"
    assert "is 1,000 characters long" in body["detail"]
    assert "at most 200 characters" in body["accepted"]
    assert count(conn, "workflows") == 0


def test_refusals_show_a_short_excerpt_of_a_huge_value(api: Api) -> None:
    huge = "9" * 20_000
    ours = api.client.post("/edit", params={"media": huge})  # refused by editroom's checks
    fastapi = api.client.get("/bucket/upload", params={"limit": huge})  # by FastAPI's
    for response in (ours, fastapi):
        assert response.status_code == 422
        body = response.json()
        assert body["value"] == "9" * 200 + "…"
        assert len(response.content) < 2000


def test_a_priority_that_is_not_a_number_says_so(api: Api, conn: Conn) -> None:
    source = api.upload(media.image_bytes("PNG")).json()
    response = api.client.post(
        "/edit", params={"media": source["id"], "priority": "NaN", "flip": "h"}
    )
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "priority='NaN': not an integer; accepted: an integer from -1000 to 1000"
    )
    assert count(conn, "edits") == 0


def test_an_import_url_with_credentials_is_refused_and_not_kept(api: Api, conn: Conn) -> None:
    response = api.client.post(
        "/bucket/import", params={"url": "http://user:secret@example.com/clip.mp4"}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["parameter"] == "url"
    assert "carries a user name or password" in body["detail"]
    assert body["value"] == "http://***@example.com/clip.mp4"
    assert "secret" not in response.text
    assert count(conn, "edits") == 0
    assert "secret" not in api.client.get("/edit").text


# One more digit than Python's int() converts (a ValueError, not a number out of range).
TOO_MANY_DIGITS = "9" * 4301


@pytest.fixture
def picture_and_clip(api: Api, tmp_path: Path) -> dict[str, str]:
    clip = media.write_video(tmp_path / "clip.mp4", acodec=None).read_bytes()
    return {
        "image": api.upload(media.image_bytes("PNG")).json()["id"],
        "video": api.upload(clip, filename="clip.mp4").json()["id"],
    }


@pytest.mark.parametrize(
    ("kind", "parameter", "value"),
    [
        ("image", "resize", f"{TOO_MANY_DIGITS}x"),
        ("image", "resize", f"x{TOO_MANY_DIGITS}"),
        ("image", "resize", f"{TOO_MANY_DIGITS}x{TOO_MANY_DIGITS}"),
        ("video", "resize", f"{TOO_MANY_DIGITS}x"),
        ("video", "trim", f"{TOO_MANY_DIGITS}:00:00,{TOO_MANY_DIGITS}:00:01"),
        ("video", "trim", f"{'9' * 400}:00:00,{'9' * 400}:00:01"),  # too big for a float
        ("video", "bitrate", f"{'9' * 310}k"),  # a float's infinity
        ("video", "bitrate", f"{TOO_MANY_DIGITS}k"),
        ("image", "priority", TOO_MANY_DIGITS),
    ],
)
def test_a_number_too_long_to_read_is_out_of_range(
    api: Api, conn: Conn, picture_and_clip: dict[str, str], kind: str, parameter: str, value: str
) -> None:
    params = {"media": picture_and_clip[kind], parameter: value}
    if parameter == "priority":
        params["flip"] = "h"
    response = api.client.post("/edit", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert (body["parameter"], body["value"]) == (parameter, value[:200] + "…")
    assert "out of range" in body["detail"]
    assert count(conn, "edits") == 0


def test_workflows_refuse_a_number_too_long_to_read(api: Api, conn: Conn) -> None:
    created = api.client.post("/workflows", params={"name": "z", "resize": f"{TOO_MANY_DIGITS}x"})
    workflow = api.client.post("/workflows", params={"name": "z", "resize": "20x"}).json()
    changed = api.client.put(workflow["url"], params={"resize": f"x{TOO_MANY_DIGITS}"})
    for response in (created, changed):
        assert response.status_code == 422, response.text
        assert response.json()["parameter"] == "resize"
        assert "out of range" in response.json()["detail"]
    assert count(conn, "workflows") == 1


def test_media_addresses_refuse_a_number_too_long_to_read(
    api: Api, picture_and_clip: dict[str, str]
) -> None:
    image = picture_and_clip["image"]
    resized = api.client.get(f"/media/{image}/resize={TOO_MANY_DIGITS}x")
    output = api.client.get(f"/media/{image}/noop", params={"output": TOO_MANY_DIGITS})
    for response, parameter in ((resized, "resize"), (output, "output")):
        assert response.status_code == 422, response.text
        assert response.json()["parameter"] == parameter
        assert "out of range" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        (b'{"\\ud800": 1, "ops": []}', "body"),  # a key
        (b'{"name": "\\udfff", "ops": [{"op": "flip", "axis": "h"}]}', "body.name"),
        (b'{"name": "x", "ops": [{"op": "text", "text": "a\\ud800b"}]}', "body.ops[0].text"),
        (b'{"name": "x", "ops": [{"op": "\\ud83d"}]}', "body.ops[0].op"),  # half a pair
    ],
)
def test_a_string_no_text_can_hold_is_refused_naming_where(
    api: Api, conn: Conn, body: bytes, parameter: str
) -> None:
    """JSON may escape a lone UTF-16 surrogate; no text holds one, and nothing downstream can
    store or show it (it answered 500)."""
    response = api.client.post(
        "/workflows", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["parameter"] == parameter
    assert "lone UTF-16 surrogate" in response.json()["detail"]
    assert count(conn, "workflows") == 0


def test_a_surrogate_pair_is_one_character(api: Api) -> None:
    body = b'{"name": "smile \\ud83d\\ude00", "ops": [{"op": "flip", "axis": "h"}]}'
    response = api.client.post(
        "/workflows", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "smile \U0001f600"
