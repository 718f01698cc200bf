"""The API's /metrics, read the way Prometheus reads it, after real requests."""

from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from tests import media
from tests.api import Api, api_settings, quick_settings, running_api
from tests.metrics import Scrape
from tests.queue import Conn, disable_backoff
from tests.runner_harness import running_runner


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(api_settings(database_url, tmp_path, "local", None)) as running:
        yield running


def scrape(api: Api) -> Scrape:
    response = api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return Scrape(response.text)


def test_requests_are_counted_by_route_template_and_status(api: Api) -> None:
    api.client.get(f"/edit/{uuid4()}")
    api.client.get(f"/edit/{uuid4()}")
    api.client.get("/no/such/page")
    api.client.get("/healthz")
    seen = scrape(api)
    assert (
        seen.value(
            "editroom_http_requests_total", method="GET", route="/edit/{edit_id}", status="404"
        )
        == 2
    )
    assert (
        seen.value("editroom_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    assert seen.value(
        "editroom_http_request_duration_seconds_count",
        method="GET", route="/healthz", status="200",
    ) == 1  # fmt: skip
    # Ids never become label values: one series per route, however many edits exist.
    assert seen.label_values("editroom_http_requests_total", "route") == {
        "/edit/{edit_id}", "unmatched", "/healthz",
    }  # fmt: skip


def test_uploads_count_media_and_bytes_by_kind(api: Api) -> None:
    picture = media.image_bytes("PNG", size=(40, 30))
    assert api.upload(picture, filename="a.png").status_code == 201
    assert api.upload(picture, filename="again.png").status_code == 200
    assert api.upload(b"not media at all", filename="x.txt").status_code == 415
    seen = scrape(api)
    assert seen.value("editroom_uploads_total", kind="image", outcome="created") == 1
    assert seen.value("editroom_uploads_total", kind="image", outcome="duplicate") == 1
    assert seen.value("editroom_upload_bytes_total", kind="image") == 2 * len(picture)
    # Kinds nobody uploaded yet are there at 0, so an upload rate is 0 rather than missing.
    assert "video" in seen.label_values("editroom_uploads_total", "kind")
    assert (
        seen.value(
            "editroom_http_requests_total", method="POST", route="/bucket/upload", status="415"
        )
        == 1
    )


def test_enqueueing_is_timed_and_counted(api: Api) -> None:
    picture = api.upload(media.image_bytes("PNG"), filename="p.png").json()
    assert api.client.post("/edit", params={"media": picture["id"], "flip": "h"}).status_code == 202
    assert api.client.post("/edit", params={"media": picture["id"], "flip": "x"}).status_code == 422
    seen = scrape(api)
    assert seen.value("editroom_edits_enqueued_total", kind="image") == 1
    assert seen.value("editroom_enqueue_duration_seconds_count") == 1
    assert 0 < seen.value("editroom_enqueue_duration_seconds_sum") < 5


def test_identical_edits_are_counted_as_reused_or_joined_not_as_enqueued(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    settings = quick_settings(database_url, tmp_path)
    with running_api(settings) as api:
        picture = api.upload(media.image_bytes("PNG"), filename="p.png").json()
        flip = {"media": picture["id"], "flip": "h"}
        for _ in range(2):  # the second joins the first, queued: no runner yet
            assert api.client.post("/edit", params=flip).status_code == 202
        disable_backoff(conn)
        with running_runner(settings):
            done = api.client.post("/edit", params={**flip, "wait": "30"}).json()
        assert (done["status"], done["reused"]) == ("completed", True)
        reused = api.client.post("/edit", params=flip).json()  # completed: its results served
        assert (reused["status"], reused["reused"]) == ("completed", True)
        seen = scrape(api)
    assert seen.value("editroom_edits_enqueued_total", kind="image") == 1
    assert seen.value("editroom_identical_edits_total", kind="image", outcome="joined") == 2
    assert seen.value("editroom_identical_edits_total", kind="image", outcome="reused") == 1
    assert seen.value("editroom_identical_edits_total", kind="video", outcome="reused") == 0


def test_a_sessions_steps_are_counted_by_the_kind_they_read(api: Api) -> None:
    """The second step is queued behind the first, before the queue knows what it reads."""
    picture = api.upload(media.image_bytes("PNG"), filename="p.png").json()
    session = api.client.post("/sessions", params={"media": picture["id"]}).json()
    for flip in ("h", "v"):
        step = api.client.post("/edit", params={"session": session["id"], "flip": flip})
        assert step.status_code == 202, step.text
    seen = scrape(api)
    assert seen.value("editroom_edits_enqueued_total", kind="image") == 2
    assert seen.label_values("editroom_edits_enqueued_total", "kind") == {
        "image", "video", "import"
    }  # fmt: skip


def test_workflow_batches_and_imports_are_counted_as_enqueued(
    database_url: str, tmp_path: Path
) -> None:
    settings = api_settings(
        database_url, tmp_path, "local", None, import_allowed_networks="127.0.0.1/32"
    )
    with running_api(settings) as api:
        picture = api.upload(media.image_bytes("PNG"), filename="p.png").json()
        other = api.upload(media.image_bytes("PNG", size=(30, 20)), filename="q.png").json()
        workflow = api.client.post("/workflows?name=w&flip=h").json()
        batch = {"media": [picture["id"], other["id"], picture["id"]]}
        assert api.client.post(f"{workflow['url']}/run", json=batch).status_code == 202
        url = "http://127.0.0.1:9/clip.mp4"
        assert api.client.post("/bucket/import", params={"url": url}).status_code == 202
        seen = scrape(api)
    # The batch names `picture` twice: one edit, made once (the second joins it).
    assert seen.value("editroom_edits_enqueued_total", kind="image") == 2
    assert seen.value("editroom_identical_edits_total", kind="image", outcome="joined") == 1
    assert seen.value("editroom_edits_enqueued_total", kind="import") == 1
    assert seen.value("editroom_edits_enqueued_total", kind="video") == 0
