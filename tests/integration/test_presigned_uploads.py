"""Presigned uploads: the client PUTs to a URL (S3's own, or a signed one of ours), then
completes; completion checks the bytes exactly as a direct upload does."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx2 as httpx
import pytest

from service.kernel import signing
from service.kernel.storage.base import pending_key
from service.kernel.storage.sigv4 import PutPresigner
from tests import media
from tests.api import Api, api_settings, running_api
from tests.metrics import Scrape
from tests.queue import Conn
from tests.s3 import ACCESS_KEY, REGION, SECRET_KEY, S3Endpoint


@pytest.fixture(params=["local", "s3"])
def api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, s3_endpoint: S3Endpoint
) -> Iterator[Api]:
    with running_api(api_settings(database_url, tmp_path, request.param, s3_endpoint)) as running:
        yield running


def presign(api: Api, size: int, **params: Any) -> dict[str, Any]:
    response = api.client.post("/bucket/upload/presign", params={"size": size, **params})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def put(api: Api, url: str, content: bytes) -> int:
    """PUT as a client would: to S3 directly, or to our own signed URL."""
    if url.startswith(f"{api.settings.base_url}/"):
        return api.client.put(url, content=content).status_code
    return httpx.put(url, content=content).status_code


def uploads_counted(api: Api) -> tuple[float, float, float]:
    """editroom_uploads_total of images created and duplicate, and their bytes, from /metrics."""
    seen = Scrape(api.client.get("/metrics").text)
    return (
        seen.value("editroom_uploads_total", kind="image", outcome="created"),
        seen.value("editroom_uploads_total", kind="image", outcome="duplicate"),
        seen.value("editroom_upload_bytes_total", kind="image"),
    )


def statuses(conn: Conn) -> list[str]:
    return [row["status"] for row in conn.execute("SELECT status::text FROM editroom.media")]


def test_presign_put_complete(api: Api, conn: Conn) -> None:
    content = media.image_bytes("WEBP", size=(50, 40))
    ticket = presign(api, len(content), filename="direct.webp")
    assert ticket["method"] == "PUT"
    assert statuses(conn) == ["pending"]
    assert put(api, ticket["upload_url"], content) in (200, 204)
    done = api.client.post(ticket["complete_url"])
    assert done.status_code == 201, done.text
    body = done.json()
    assert body["id"] == ticket["id"]
    assert (body["kind"], body["content_type"], body["width"]) == ("image", "image/webp", 50)
    assert body["original_name"] == "direct.webp"
    assert api.client.get(body["content_url"]).content == content
    assert uploads_counted(api) == (1, 0, len(content))  # counted as a direct upload is
    assert api.client.post(ticket["complete_url"]).status_code == 200  # completing again is fine
    assert uploads_counted(api) == (1, 0, len(content))  # and is not another upload


def test_presigned_bytes_already_in_the_bucket(api: Api, conn: Conn) -> None:
    content = media.image_bytes("PNG")
    existing = api.upload(content).json()
    ticket = presign(api, len(content))
    put(api, ticket["upload_url"], content)
    done = api.client.post(ticket["complete_url"])
    assert done.status_code == 200
    assert done.json()["duplicate"] is True
    assert done.json()["id"] == existing["id"]
    assert statuses(conn) == ["ready"]
    assert uploads_counted(api) == (1, 1, 2 * len(content))


def test_completing_before_uploading(api: Api) -> None:
    ticket = presign(api, 100)
    response = api.client.post(ticket["complete_url"])
    assert response.status_code == 409
    assert "PUT the file to its upload_url" in response.json()["detail"]


def test_the_wrong_size(api: Api) -> None:
    content = media.image_bytes("PNG")
    ticket = presign(api, len(content) + 10)
    put(api, ticket["upload_url"], content)
    response = api.client.post(ticket["complete_url"])
    assert response.status_code == 422
    assert "was for" in response.json()["detail"]


def put_unchecked(api: Api, ticket: dict[str, Any], content: bytes) -> None:
    """PUT bytes S3 takes whatever their size. Our own URL refuses more than the declared size
    (test_our_signed_urls_enforce_the_declared_size), so on the local bucket they are written
    straight into it, as a misbehaving store would."""
    if ticket["upload_url"].startswith(f"{api.settings.base_url}/"):
        path = api.settings.bucket_dir / pending_key(ticket["id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    else:
        assert put(api, ticket["upload_url"], content) in (200, 204)


def test_more_than_declared_is_refused_unread_and_deleted(api: Api, conn: Conn) -> None:
    content = media.image_bytes("PNG")
    ticket = presign(api, len(content))
    put_unchecked(api, ticket, content + b"\0" * 100_000)
    response = api.client.post(ticket["complete_url"])
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert f"{len(content) + 100_000:,} bytes were uploaded" in detail
    assert f"takes at most {len(content):,} bytes" in detail
    again = api.client.post(ticket["complete_url"])  # the object is gone
    assert again.status_code == 409
    assert "PUT the file to its upload_url" in again.json()["detail"]
    assert statuses(conn) == ["pending"]  # the client may PUT the right file yet


def test_more_than_the_upload_limit_is_refused_unread(api: Api, conn: Conn) -> None:
    """The limit may have been lowered since the URL was handed out."""
    content = media.image_bytes("PNG")
    ticket = presign(api, len(content))
    put(api, ticket["upload_url"], content)
    smaller = api.settings.model_copy(update={"max_upload_bytes": 100})
    with running_api(smaller) as strict:
        response = strict.client.post(ticket["complete_url"])
    assert response.status_code == 413
    assert "EDITROOM_MAX_UPLOAD_BYTES (100)" in response.json()["detail"]
    assert statuses(conn) == ["pending"]
    assert api.client.post(ticket["complete_url"]).status_code == 409  # deleted


def test_bad_bytes_leave_nothing_behind(api: Api, conn: Conn) -> None:
    content = b"not media at all " * 20
    ticket = presign(api, len(content))
    put(api, ticket["upload_url"], content)
    response = api.client.post(ticket["complete_url"])
    assert response.status_code == 415
    assert statuses(conn) == []


def test_presign_refuses_what_is_too_large(api: Api) -> None:
    response = api.client.post("/bucket/upload/presign", params={"size": 10**15})
    assert response.status_code == 413


@pytest.fixture
def local_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = api_settings(database_url, tmp_path, "local", None, presign_expiry_seconds=2)
    with running_api(settings) as running:
        yield running


def test_our_signed_urls_refuse_forgery_and_expiry(
    local_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = media.image_bytes("PNG")
    ticket = presign(local_api, len(content))
    forged = ticket["upload_url"].replace("signature=", "signature=0")
    assert local_api.client.put(forged, content=content).status_code == 403
    other = presign(local_api, len(content))
    swapped = ticket["upload_url"].replace(ticket["id"], other["id"])
    assert local_api.client.put(swapped, content=content).status_code == 403
    assert local_api.client.put(ticket["upload_url"], content=content).status_code == 204
    later = time.time() + 2.1  # past the URL's 2 s: the clock moved on, not waited for
    monkeypatch.setattr(signing, "time", SimpleNamespace(time=lambda: later))
    expired = local_api.client.put(ticket["upload_url"], content=content)
    assert expired.status_code == 403
    assert "expired" in expired.json()["detail"]


def test_our_signed_urls_enforce_the_declared_size(local_api: Api) -> None:
    ticket = presign(local_api, 100)
    response = local_api.client.put(ticket["upload_url"], content=b"\0" * 1000)
    assert response.status_code == 413


def test_an_s3_upload_url_signs_the_declared_size(
    database_url: str, tmp_path: Path, s3_endpoint: S3Endpoint
) -> None:
    """S3 refuses a PUT to this URL whose Content-Length is not the declared size (the test
    S3 checks no signatures: what is checked is what the URL binds)."""
    settings = api_settings(database_url, tmp_path, "s3", s3_endpoint, max_upload_bytes=1000)
    with running_api(settings) as s3_api:
        ticket = presign(s3_api, 10)
    url = ticket["upload_url"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    expires = timedelta(seconds=int(query["X-Amz-Expires"][0]))
    presigner = PutPresigner(s3_endpoint.url, access_key=ACCESS_KEY, secret_key=SECRET_KEY,
                             region=REGION)  # fmt: skip
    key = pending_key(ticket["id"])
    for size, same in ((10, True), (11, False), (5_000_000, False)):
        again = presigner.put_url(
            settings.s3_bucket, key, size_bytes=size, expires=expires, now=signed_at
        )
        assert (again == url) is same, size  # the signature binds the declared size


def test_open_presigned_uploads_are_bounded(database_url: str, tmp_path: Path) -> None:
    """Presigns are anonymous: past EDITROOM_MAX_PENDING_UPLOADS open ones, a 429 that says
    when to come back; a completed upload gives its place back."""
    settings = api_settings(database_url, tmp_path, "local", None, max_pending_uploads=2)
    content = media.image_bytes("PNG")
    with running_api(settings) as local:
        first, _ = presign(local, len(content)), presign(local, len(content))
        refused = local.client.post("/bucket/upload/presign", params={"size": len(content)})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "TooManyPending"
        assert "2 presigned uploads are open" in refused.json()["detail"]
        assert "EDITROOM_MAX_PENDING_UPLOADS" in refused.json()["detail"]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert put(local, first["upload_url"], content) == 204
        assert local.client.post(first["complete_url"]).status_code == 201
        presign(local, len(content))  # the completed one's place
