"""GET /events: one stream for a page of many edits; POST /edit/{id}/retry; the library's
originals apart from edit outputs."""

from pathlib import Path

import psycopg
import pytest

from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings
from tests.queue import Conn, disable_backoff, fail_by_hand
from tests.runner_harness import running_runner
from tests.streams import Stream

QUIET_SECONDS = 0.3  # an upload's NOTIFY, when sent, comes well within it


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


def upload(api: Api, width: int = 64) -> str:
    content = media.image_bytes("PNG", size=(width, 48))
    response = api.upload(content, filename=f"{width}.png")
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_session_stream_tells_its_edits_and_the_counts(api: Api, streams: list[Stream]) -> None:
    picture, other = upload(api, 64), upload(api, 65)
    session = api.client.post("/sessions", params={"media": picture}).json()
    stream = Stream(api, {"session": session["id"]}, streams)
    first = stream.next("stats")
    assert first["queued"] == 0
    outside = api.client.post("/edit", params={"media": other, "flip": "h"}).json()
    made = api.client.post("/edit", params={"session": session["id"], "rotate": "90"}).json()
    queued = stream.next("edit")
    assert (queued["id"], queued["status"], queued["session_id"]) == (
        made["id"], "queued", session["id"],
    )  # fmt: skip
    assert queued["url"] == f"/edit/{made['id']}"
    counts = stream.next("stats", lambda body: body["queued"] == 2)
    assert counts["cancelled"] == 0
    api.client.delete(made["url"])
    assert stream.next("edit")["status"] == "cancelled"
    assert stream.next("stats", lambda body: body["cancelled"] == 1)["queued"] == 1
    told = [body["id"] for name, body in stream.kinds_seen() if name == "edit"]
    assert outside["id"] not in told


def test_the_library_s_changes_are_told_to_a_stream_of_the_library(
    api: Api, streams: list[Stream]
) -> None:
    """An upload ready, and deleted: told to a stream of every edit (the library's page) as
    `media` (the media as GET answers it) and `media-deleted`; not to a session's stream."""
    picture = upload(api, 66)
    session = api.client.post("/sessions", params={"media": picture}).json()
    everything = Stream(api, {}, streams)
    of_session = Stream(api, {"session": session["id"]}, streams)
    everything.next("stats")
    of_session.next("stats")
    uploaded = upload(api, 67)
    told = everything.next("media")
    assert told == api.client.get(f"/bucket/upload/{uploaded}").json()
    api.client.delete(f"/bucket/upload/{uploaded}").raise_for_status()
    assert everything.next("media-deleted") == {"id": uploaded}
    api.client.post("/edit", params={"session": session["id"], "flip": "h"})
    of_session.next("edit")
    assert [kind for kind, _ in of_session.kinds_seen() if kind.startswith("media")] == []


def test_only_a_stream_of_the_library_has_uploads_notified(
    api: Api, streams: list[Stream], database_url: str
) -> None:
    """A session's stream is told of no media, so the service does not watch the library's
    channel for it: an upload then sends no NOTIFY (each takes the cluster-wide notify lock).
    A stream of every edit (the library's page) has them sent."""
    session = api.client.post("/sessions", params={"media": upload(api, 68)}).json()
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN editroom_media_events")
        Stream(api, {"session": session["id"]}, streams).next("stats")
        upload(api, 69)
        assert list(listener.notifies(timeout=QUIET_SECONDS)) == []
        Stream(api, {}, streams).next("stats")
        upload(api, 70)
        assert list(listener.notifies(timeout=QUIET_SECONDS)) != []


def test_the_whole_queue_and_a_workflow_stream(api: Api, streams: list[Stream]) -> None:
    picture = upload(api)
    workflow = api.client.post("/workflows", params={"name": "flip", "flip": "h"}).json()
    everything = Stream(api, {}, streams)
    of_workflow = Stream(api, {"workflow": workflow["id"]}, streams)
    everything.next("stats")
    of_workflow.next("stats")
    plain = api.client.post("/edit", params={"media": picture, "flip": "v"}).json()
    assert everything.next("edit")["id"] == plain["id"]
    run = api.client.post(f"{workflow['url']}/run", params={"media": picture}).json()
    assert of_workflow.next("edit")["id"] == run["id"]
    assert everything.next("edit")["workflow_id"] == workflow["id"]


def test_one_scope_per_stream(api: Api) -> None:
    picture = upload(api)
    both = api.client.get("/events", params={"media": picture, "session": picture})
    assert both.status_code == 422
    assert "one scope" in both.json()["detail"]
    assert api.client.get("/events", params={"edit": picture}).json()["parameter"] == "edit"


def test_retry_queues_a_cancelled_edit_again(api: Api) -> None:
    made = api.client.post("/edit", params={"media": upload(api), "flip": "h"}).json()
    not_yet = api.client.post(f"{made['url']}/retry")
    assert not_yet.status_code == 409
    assert "is queued, not failed or cancelled" in not_yet.json()["detail"]
    api.client.delete(made["url"])
    retried = api.client.post(f"{made['url']}/retry")
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["max_trials"]) == ("queued", 3)
    missing = api.client.post("/edit/00000000-0000-0000-0000-000000000000/retry")
    assert missing.status_code == 404


def test_a_step_told_again_when_its_session_lets_retry_help_or_not(
    api: Api, conn: Conn, streams: list[Stream]
) -> None:
    """A failed step's `retryable` hangs on the rest of its session: the whole queue's stream
    tells it again when another step starts or stops waiting to run."""
    session = api.client.post("/sessions", params={"media": upload(api)}).json()
    failed = api.client.post("/edit", params={"session": session["id"], "flip": "h"}).json()
    fail_by_hand(conn, failed["id"], last_trial=True)
    everything = Stream(api, {}, streams)
    everything.next("stats")
    # The failure's own notification may reach the service after the stream subscribed,
    # telling it retryable: each wait below is for the news that says otherwise.
    pending = api.client.post("/edit", params={"session": session["id"], "flip": "v"}).json()
    told = everything.next(
        "edit", lambda body: body["id"] == failed["id"] and not body["retryable"]
    )
    assert told["status"] == "failed"  # not retryable: its session is busy
    api.client.delete(pending["url"])
    told = everything.next("edit", lambda body: body["id"] == failed["id"] and body["retryable"])
    assert told["status"] == "failed"


def test_the_library_lists_originals_apart_from_edit_outputs(
    api: Api, settings: Settings, conn: Conn
) -> None:
    disable_backoff(conn)
    picture = upload(api)
    with running_runner(settings):
        done = api.client.post("/edit", params={"media": picture, "flip": "h", "wait": "30"})
    (output,) = done.json()["outputs"]

    def listed(**params: str) -> list[str]:
        items = api.client.get("/bucket/upload", params=params).json()["items"]
        return [item["id"] for item in items]

    assert listed(origin="upload") == [picture]
    assert listed(origin="edit") == [output["id"]]
    assert listed() == [output["id"], picture]
    bad = api.client.get("/bucket/upload", params={"origin": "mine"})
    assert (bad.status_code, bad.json()["parameter"]) == (422, "origin")
