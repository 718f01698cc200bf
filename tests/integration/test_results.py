"""Identical edits done once, and results by address: GET /media/{id}/{operations}."""

import hashlib
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from PIL import Image
from psycopg.rows import dict_row

from service.kernel.settings import Settings
from service.kernel.signing import sign_path
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import Conn, insert_sound_alone

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path, result_wait_seconds=0.3)


@pytest.fixture
def picture(api: Api) -> dict[str, Any]:
    body: dict[str, Any] = api.upload(media.image_bytes("PNG", size=(64, 48))).json()
    return body


def edits_made(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone()
    assert row is not None
    return int(row["n"])


def test_an_identical_completed_edit_is_answered_at_once_and_fresh_runs_it_again(
    api: Api, conn: Conn, runner: None, picture: dict[str, Any]
) -> None:
    params = {"media": picture["id"], "resize": "32x", "format": "webp"}
    first = api.client.post("/edit", params={**params, "wait": "30"})
    again = api.client.post("/edit", params=params)  # the order of parameters is its own
    assert (first.json()["reused"], again.status_code, again.json()["reused"]) == (
        False, 200, True,
    )  # fmt: skip
    assert again.json()["id"] == first.json()["id"]
    assert edits_made(conn) == 1
    fresh = api.client.post("/edit", params={**params, "fresh": "true", "wait": "30"}).json()
    assert (fresh["id"] != first.json()["id"], fresh["reused"], edits_made(conn)) == (
        True, False, 2,
    )  # fmt: skip


def test_an_identical_edit_still_queued_is_joined(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    first = api.client.post("/edit", params={"media": picture["id"], "flip": "h"}).json()
    joined = api.client.post("/edit", params={"media": picture["id"], "flip": "h", "fresh": "1"})
    other = api.client.post("/edit", params={"media": picture["id"], "flip": "v"}).json()
    assert (joined.status_code, joined.json()["id"], joined.json()["reused"]) == (
        202, first["id"], True,
    )  # fmt: skip
    assert other["id"] != first["id"]
    assert edits_made(conn) == 2


def test_the_same_operations_on_other_bytes_are_another_edit(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    other = api.upload(media.image_bytes("PNG", size=(30, 20))).json()
    ids = {
        api.client.post("/edit", params={"media": m["id"], "rotate": "90"}).json()["id"]
        for m in (picture, other)
    }
    assert len(ids) == 2


def test_identical_requests_at_once_make_one_edit(
    api: Api, conn: Conn, database_url: str, picture: dict[str, Any]
) -> None:
    """Two connections: the second call waits for the first's transaction, then joins it."""
    call = (
        "SELECT (o.edit).id, o.reused FROM editroom.enqueue_edit_once("
        'p_media_id => %s, p_ops => \'[{"op": "noop"}]\', p_edit_key => %s) AS o'
    )
    key = hashlib.sha256(b"race").hexdigest()
    answers: list[dict[str, Any]] = []
    with psycopg.connect(database_url, row_factory=dict_row) as first:
        made = first.execute(call, (picture["id"], key)).fetchone()

        def second() -> None:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as c:
                answers.append(c.execute(call, (picture["id"], key)).fetchone() or {})

        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive()  # held until the first commits
        first.commit()
    thread.join(10)
    assert made is not None and made["reused"] is False
    assert answers == [{"id": made["id"], "reused": True}]
    assert edits_made(conn) == 1


def test_identical_posts_at_once_make_one_edit(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    start = threading.Barrier(6)
    ids: list[str] = []

    def post() -> None:
        start.wait()
        answer = api.client.post("/edit", params={"media": picture["id"], "rotate": "180"})
        ids.append(answer.json()["id"])

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == 6 and len(set(ids)) == 1
    assert edits_made(conn) == 1


def test_a_result_address_answers_the_bytes_cacheable_forever(
    api: Api, conn: Conn, runner: None, picture: dict[str, Any]
) -> None:
    edit = api.client.post(
        "/edit", params={"media": picture["id"], "resize": "32x", "wait": "30"}
    ).json()
    assert edit["result_url"] == f"{api.settings.base_url}/media/{picture['id']}/resize=32x"
    got = api.client.get(edit["result_url"])
    output = api.client.get(edit["outputs"][0]["url"]).json()
    assert got.status_code == 200
    assert Image.open(io.BytesIO(got.content)).size == (32, 24)
    assert got.headers["etag"] == f'"{output["sha256"]}"'
    assert got.headers["cache-control"] == IMMUTABLE
    again = api.client.get(edit["result_url"], headers={"If-None-Match": got.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    asked = api.client.head(edit["result_url"])  # a CDN's or a link checker's question
    assert (asked.status_code, asked.content) == (200, b"")
    shown = ("etag", "cache-control", "content-type", "content-length")
    assert {name: asked.headers[name] for name in shown} == {n: got.headers[n] for n in shown}
    assert edits_made(conn) == 1


def test_the_address_of_a_format_auto_edit_is_that_edit_for_the_same_accept(
    api: Api, conn: Conn, runner: None
) -> None:
    # With alpha and nothing better accepted, auto writes a PNG: an address naming the format
    # it chose (format=jpeg) would make another edit, flattened onto white.
    see_through = io.BytesIO()
    Image.new("RGBA", (40, 30), (200, 0, 0, 90)).save(see_through, "PNG")
    clear = api.upload(see_through.getvalue()).json()
    plain = {"Accept": "*/*"}
    edit = api.client.post(
        "/edit", params={"media": clear["id"], "format": "auto", "wait": "30"}, headers=plain
    ).json()
    assert (edit["status"], edit["query"]) == ("completed", "format=auto")
    assert edit["result_url"] == f"{api.settings.base_url}/media/{clear['id']}/format=auto"
    got = api.client.get(edit["result_url"], headers=plain)
    output = api.client.get(edit["outputs"][0]["url"]).json()
    assert (got.status_code, got.headers["content-type"]) == (200, "image/png")
    assert (got.headers["etag"], got.headers["vary"]) == (f'"{output["sha256"]}"', "Accept")
    assert edits_made(conn) == 1  # the same edit, not done again
    browser = {"Accept": "image/avif,image/webp,*/*"}
    other = api.client.get(edit["result_url"], headers=browser)
    while other.status_code == 202:
        other = api.client.get(edit["result_url"], headers=browser)
    assert (other.status_code, other.headers["content-type"]) == (200, "image/avif")
    assert edits_made(conn) == 2  # the format this client takes, made once for it


def test_an_edit_that_made_no_result_offers_no_address(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    done = api.client.post("/edit", params={"media": picture["id"], "noop": "", "wait": "30"})
    edit = done.json()
    assert (edit["status"], edit["outputs"], edit["result_url"]) == ("completed", [], None)
    assert api.client.get(edit["url"]).json()["result_url"] is None


def test_a_result_address_runs_the_edit_and_waits_for_it(
    api: Api, conn: Conn, runner: None, picture: dict[str, Any]
) -> None:
    got = api.client.get(f"/media/{picture['id']}/crop=0,0,10,20&format=webp")
    while got.status_code == 202:
        got = api.client.get(f"/media/{picture['id']}/crop=0,0,10,20&format=webp")
    assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(got.content)).size == (10, 20)
    assert edits_made(conn) == 1


def test_a_result_still_running_past_the_wait_is_a_202_naming_the_edit(
    api: Api, conn: Conn, picture: dict[str, Any]
) -> None:
    address = f"/media/{picture['id']}/flip=h&format=png"
    got = api.client.get(address)
    assert got.status_code == 202
    assert got.headers["location"] == got.json()["url"]
    assert got.headers["cache-control"] == "no-store"
    assert api.client.get(address).json()["id"] == got.json()["id"]  # joined
    assert edits_made(conn) == 1


@pytest.mark.parametrize(
    ("operations", "parameter"),
    [("resize=abc", "resize"), ("vignette=2", "vignette"), ("flip=h&wait=5", "wait"),
     ("trim=1,2", "trim")],
)  # fmt: skip
def test_a_result_address_is_checked_as_post_edit_checks(
    api: Api, picture: dict[str, Any], operations: str, parameter: str
) -> None:
    got = api.client.get(f"/media/{picture['id']}/{operations}")
    assert (got.status_code, got.json()["parameter"]) == (422, parameter)
    missing = api.client.get("/media/00000000-0000-0000-0000-000000000000/flip=h")
    assert missing.status_code == 404


def test_a_result_address_of_sound_alone_is_refused(api: Api, conn: Conn, tmp_path: Path) -> None:
    sound = insert_sound_alone(conn, tmp_path)
    response = api.client.get(f"/media/{sound}/volume=0.5")
    assert response.status_code == 422, response.text
    assert (response.json()["parameter"], response.json()["value"]) == ("media", str(sound))
    assert "is sound alone (no picture)" in response.json()["detail"]
    assert edits_made(conn) == 0


def test_output_picks_one_of_several_results(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    done = api.client.post(
        "/edit", params={"media": picture["id"], "rotate": "90", "wait": "30"}
    ).json()
    assert api.client.get(done["result_url"], params={"output": "1"}).status_code == 200
    assert api.client.get(done["result_url"], params={"output": "2"}).status_code == 404
    bad = api.client.get(done["result_url"], params={"output": "0"})
    assert (bad.status_code, bad.json()["parameter"]) == (422, "output")


@pytest.fixture
def signed_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = quick_settings(
        database_url, tmp_path, url_signing_key="k3y", api_token="t0ken", result_wait_seconds=0
    )
    with running_api(settings) as running:
        yield running


def test_signed_addresses_are_the_credential_and_unsigned_ones_refused(
    signed_api: Api,
) -> None:
    token = {"Authorization": "Bearer t0ken"}
    picture = signed_api.client.post(
        "/bucket/upload", files={"file": ("p.png", media.image_bytes("PNG"))}, headers=token
    ).json()
    edit = signed_api.client.post(
        "/edit", params={"media": picture["id"], "flip": "h"}, headers=token
    ).json()
    path = f"/media/{picture['id']}/flip=h"
    assert edit["result_url"] == (
        f"{signed_api.settings.base_url}{path}?signature={sign_path(b'k3y', path)}"
    )
    assert signed_api.client.get(edit["result_url"]).status_code == 202  # no token needed
    unsigned = signed_api.client.get(path, headers=token)
    tampered = signed_api.client.get(edit["result_url"].replace("flip=h", "flip=v"))
    assert (unsigned.status_code, tampered.status_code) == (403, 403)
    assert "signature" in tampered.json()["detail"]


def test_head_answers_as_get_when_the_stored_result_is_gone(
    api: Api, runner: None, picture: dict[str, Any]
) -> None:
    """A link checker or a CDN asking HEAD is told what GET would say (a stored object lost
    is a 500 that `editroom fsck` repairs), not a 200 for bytes that cannot be served."""
    edit = api.client.post(
        "/edit", params={"media": picture["id"], "resize": "16x", "wait": "30"}
    ).json()
    output = api.client.get(edit["outputs"][0]["url"]).json()
    (stored,) = api.settings.bucket_dir.rglob(output["sha256"])
    stored.unlink()
    got = api.client.get(edit["result_url"])
    asked = api.client.head(edit["result_url"])
    assert (got.status_code, asked.status_code) == (500, 500)
    content = edit["outputs"][0]["content_url"]
    assert (api.client.get(content).status_code, api.client.head(content).status_code) == (500, 500)
