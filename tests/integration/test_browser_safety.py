"""Safe to open in a browser: what a page of another site, a forged Host, or a client without
the API token can and cannot do, through the real app and database."""

import re
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from psycopg import sql

from tests import media
from tests.api import Api, api_settings, running_api
from tests.queue import Conn

EVIL = "http://evil.example"
FORM = {"content-type": "application/x-www-form-urlencoded"}
TOKEN = "a-long-random-token-0123456789"


def serving(database_url: str, data_dir: Path, **settings: Any) -> AbstractContextManager[Api]:
    return running_api(api_settings(database_url, data_dir, "local", None, **settings))


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with serving(database_url, tmp_path / "data") as running:
        yield running


@pytest.fixture
def guarded(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with serving(database_url, tmp_path / "data", api_token=TOKEN) as running:
        yield running


def picture(api: Api) -> str:
    response = api.upload(media.image_bytes("PNG"), filename="a.png")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def count(conn: Conn, table: str) -> int:
    query = sql.SQL("SELECT count(*) AS n FROM editroom.{}").format(sql.Identifier(table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row["n"])


def stored_files(api: Api) -> list[Path]:
    folders = (api.settings.bucket_dir, api.settings.uploads_dir)
    return [path for folder in folders for path in folder.rglob("*") if path.is_file()]


def assert_secured(response: httpx.Response) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-resource-policy"] == "same-origin"


# Pages of other sites


def test_a_cross_site_form_post_to_edit_is_refused_and_queues_nothing(api: Api, conn: Conn) -> None:
    media_id = picture(api)
    response = api.client.post(
        "/edit", params={"media": media_id, "flip": "h"}, content=b"x=1",
        headers={**FORM, "origin": EVIL},
    )  # fmt: skip
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "CrossSiteRequest"
    assert EVIL in body["detail"]
    assert_secured(response)
    assert count(conn, "edits") == 0


def test_a_multipart_upload_from_a_foreign_origin_stores_nothing(api: Api, conn: Conn) -> None:
    response = api.client.post(
        "/bucket/upload", files={"file": ("a.png", media.image_bytes("PNG"), "image/png")},
        headers={"origin": EVIL},
    )  # fmt: skip
    assert response.status_code == 403
    assert count(conn, "media") == 0
    assert stored_files(api) == []


def test_a_long_origin_is_echoed_cut(api: Api) -> None:
    origin = "https://" + "o" * 5000 + ".example"
    response = api.client.delete(f"/edit/{uuid.uuid4()}", headers={"origin": origin})
    assert response.status_code == 403
    assert "o" * 192 + "…" in response.json()["detail"]
    assert "o" * 193 not in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site", "origin": "http://127.0.0.1:9"},  # another port
        {"origin": "null"},  # a sandboxed frame, a file:// page
    ],
)
def test_other_sites_cannot_delete(api: Api, headers: dict[str, str]) -> None:
    media_id = picture(api)
    response = api.client.delete(f"/bucket/upload/{media_id}", headers=headers)
    assert response.status_code == 403, response.text
    assert api.client.get(f"/bucket/upload/{media_id}").status_code == 200


def test_clients_that_are_not_browsers_keep_working(api: Api) -> None:
    media_id = picture(api)  # no Origin, no Sec-Fetch-Site: curl, scripts
    assert api.client.post("/edit", params={"media": media_id, "flip": "h"}).status_code == 202


@pytest.mark.parametrize("host", [None, "localhost:8000"])
def test_the_service_s_own_pages_may_change_things(api: Api, host: str | None) -> None:
    origin = f"http://{host}" if host else api.settings.base_url
    browser = {
        "origin": origin,
        "sec-fetch-site": "same-origin",
        **({"host": host} if host else {}),
    }
    upload = api.client.post(
        "/bucket/upload", files={"file": ("a.png", media.image_bytes("PNG"), "image/png")},
        headers=browser,
    )  # fmt: skip
    assert upload.status_code == 201, upload.text
    edit = api.client.post(
        "/edit", params={"media": upload.json()["id"], "flip": "h"}, headers=browser
    )
    assert edit.status_code == 202, edit.text


def test_allowed_origins_let_another_site_in(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, allowed_origins="https://ui.example:8443") as api:
        media_id = picture(api)
        foreign = {"origin": "https://ui.example:8443", "sec-fetch-site": "cross-site"}
        params = {"media": media_id, "flip": "h"}
        assert api.client.post("/edit", params=params, headers=foreign).status_code == 202
        other = {**foreign, "origin": "https://ui.example"}  # not the same origin
        assert api.client.post("/edit", params=params, headers=other).status_code == 403


# Host names


def test_a_foreign_host_is_refused(api: Api) -> None:
    response = api.client.get("/healthz", headers={"host": "evil.example:8000"})
    assert response.status_code == 400
    assert response.json()["error"] == "HostNotAllowed"
    assert "EDITROOM_ALLOWED_HOSTS" in response.json()["detail"]
    assert_secured(response)
    for host in ("127.0.0.1", "localhost:1234", "[::1]:8000", "LOCALHOST"):
        assert api.client.get("/healthz", headers={"host": host}).status_code == 200, host
    long = api.client.get("/healthz", headers={"host": "h" * 5000}).json()["detail"]
    assert long.startswith("Host '" + "h" * 200 + "…' is not served here")  # cut as every echo


def test_allowed_hosts_replace_the_loopback_names(database_url: str, tmp_path: Path) -> None:
    with serving(database_url, tmp_path, allowed_hosts="editroom.lan,api:8000") as api:
        assert api.client.get("/healthz", headers={"host": "editroom.lan:80"}).status_code == 200
        assert api.client.get("/healthz", headers={"host": "api:8000"}).status_code == 200
        assert api.client.get("/healthz", headers={"host": "api:9000"}).status_code == 400
        assert api.client.get("/healthz", headers={"host": "localhost"}).status_code == 400
        assert api.client.get("/healthz").status_code == 200  # the public URL's stays allowed
    with serving(database_url, tmp_path, allowed_hosts="*") as api:
        assert api.client.get("/healthz", headers={"host": "evil.example"}).status_code == 200


# URLs handed out


def test_urls_handed_out_start_with_the_public_url(database_url: str, tmp_path: Path) -> None:
    public = "https://editroom.example/"
    with serving(database_url, tmp_path, public_url=public) as api:
        other = {"host": "127.0.0.1:8000"}  # allowed, but not what the URLs are built from
        ticket = api.client.post("/bucket/upload/presign", params={"size": 10}, headers=other)
        assert ticket.json()["upload_url"].startswith("https://editroom.example/bucket/upload/")
        assert ticket.json()["complete_url"] == (
            f"https://editroom.example/bucket/upload/{ticket.json()['id']}/complete"
        )
        uploaded = api.client.post(
            "/bucket/upload", files={"file": ("a.png", media.image_bytes("PNG"), "image/png")},
            headers=other,
        ).json()  # fmt: skip
        content_url = f"https://editroom.example/bucket/upload/{uploaded['id']}/content"
        assert uploaded["content_url"] == content_url
        assert (
            api.client.get(f"/bucket/upload/{uploaded['id']}", headers=other).json()["content_url"]
            == content_url
        )
        session = api.client.post("/sessions", params={"media": uploaded["id"]}, headers=other)
        assert session.json()["head"]["content_url"] == content_url
        redirect = api.client.get("/bucket/upload/", headers=other, follow_redirects=False)
        assert redirect.headers["location"] == "https://editroom.example/bucket/upload"


def test_a_forged_host_never_reaches_a_url(api: Api) -> None:
    ticket = api.client.post("/bucket/upload/presign", params={"size": 10}).json()
    assert ticket["upload_url"].startswith(f"{api.settings.base_url}/bucket/upload/")
    forged = api.client.post(
        "/bucket/upload/presign", params={"size": 10}, headers={"host": "evil.example"}
    )
    assert forged.status_code == 400
    assert "evil.example" not in forged.headers.get("location", "")


# Headers


def test_every_answer_carries_the_security_headers(api: Api) -> None:
    uploaded = api.upload(media.image_bytes("PNG")).json()
    content = api.client.get(uploaded["content_url"])
    assert content.status_code == 200
    not_found = api.client.get("/bucket/upload/00000000-0000-0000-0000-000000000000")
    invalid = api.client.get("/bucket/upload", params={"type": "sound"})
    for response in (content, not_found, invalid, api.client.get("/operations")):
        assert_secured(response)
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_the_docs_page_runs_only_its_own_scripts(api: Api) -> None:
    page = api.client.get("/docs")
    assert page.status_code == 200
    assert_secured(page)
    policy = page.headers["content-security-policy"]
    assert "object-src 'none'" in policy and "base-uri 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert "script-src 'self';" in policy
    assert not re.findall(r"<script>", page.text), "an inline script the policy would block"
    sources = re.findall(r'<script src="([^"]+)"', page.text)
    assert len(sources) == 2
    for source in sources:
        assert source.startswith("/"), source
        assert api.client.get(source).status_code == 200


# The API token


def test_without_the_token_only_the_probes_answer(guarded: Api) -> None:
    response = guarded.client.get("/bucket/upload")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"] == "Unauthorized"
    assert_secured(response)
    wrong = guarded.client.get("/bucket/upload", headers={"authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert guarded.client.post("/bucket/upload", content=media.image_bytes("PNG")).status_code == (
        401
    )
    for path in ("/healthz", "/readyz", "/metrics"):
        assert guarded.client.get(path).status_code == 200, path


def test_the_token_as_a_bearer_header(guarded: Api) -> None:
    bearer = {"authorization": f"Bearer {TOKEN}"}
    assert guarded.client.get("/bucket/upload", headers=bearer).status_code == 200
    uploaded = guarded.client.post(
        "/bucket/upload", content=media.image_bytes("PNG"), headers=bearer
    )
    assert uploaded.status_code == 201


def test_a_browser_signs_in_once_and_its_cookie_does_the_rest(guarded: Api) -> None:
    page = guarded.client.get("/", headers={"accept": "text/html"})
    assert page.status_code == 401
    assert '<form method="post" action="/auth">' in page.text
    assert guarded.client.post("/auth", data={"token": "nope"}).status_code == 401
    foreign = guarded.client.post("/auth", data={"token": TOKEN}, headers={"origin": EVIL})
    assert foreign.status_code == 403  # nobody else's page signs this browser in
    signed_in = guarded.client.post(
        "/auth", data={"token": TOKEN}, headers={"accept": "text/html"}, follow_redirects=False
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/")
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert guarded.client.get("/bucket/upload").status_code == 200  # the cookie, no header
    assert guarded.client.delete("/auth").status_code == 204
    assert guarded.client.get("/bucket/upload").status_code == 401


def test_a_presigned_upload_needs_only_its_signature(guarded: Api) -> None:
    bearer = {"authorization": f"Bearer {TOKEN}"}
    content = media.image_bytes("PNG")
    ticket = guarded.client.post(
        "/bucket/upload/presign", params={"size": len(content)}, headers=bearer
    ).json()
    assert guarded.client.put(ticket["upload_url"], content=content).status_code == 204
    assert guarded.client.post(ticket["complete_url"]).status_code == 401
    assert guarded.client.post(ticket["complete_url"], headers=bearer).status_code == 201
