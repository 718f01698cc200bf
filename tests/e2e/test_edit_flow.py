"""The edit engine as a user meets it: `editroom serve` and `editroom runner` processes, HTTP
and Server-Sent Events from outside, the database watched from the side."""

import io
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from PIL import Image
from psycopg.rows import dict_row

from tests import media
from tests.processes import editroom_env, editroom_process, serving
from tests.queue import Conn, attempts, disable_backoff
from tests.waiting import eventually

TIMEOUT_SECONDS = 120.0


# One database and one `editroom serve` for the module: a serve process takes seconds to
# start. Each test starts its own runners, uploads media of its own (distinct bytes: the same
# bytes twice would be a duplicate) and asserts on its own edits only.
@pytest.fixture
def database_url(module_database_url: str) -> str:
    """The module's database, for `conn` too."""
    return module_database_url


@pytest.fixture(scope="module")
def env(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    with psycopg.connect(module_database_url, autocommit=True, row_factory=dict_row) as conn:
        disable_backoff(conn)
    return editroom_env(
        module_database_url, tmp_path_factory.mktemp("edit-flow") / "data",
        poll_interval_seconds="0.5", progress_interval_seconds="0.2",
        reap_interval_seconds="0.5",
    )  # fmt: skip


@pytest.fixture(scope="module")
def api(env: dict[str, str]) -> Iterator[httpx.Client]:
    log = Path(env["EDITROOM_DATA_DIR"]).with_name("serve.log")
    with (
        serving(env, log) as base_url,
        httpx.Client(base_url=base_url, timeout=TIMEOUT_SECONDS) as client,
    ):
        yield client


@contextmanager
def runners(
    env: dict[str, str], tmp_path: Path, *names: str, **settings: str
) -> Iterator[dict[str, Any]]:
    with ExitStack() as stack:
        started = {}
        for name in names:
            runner_env = {**env, "EDITROOM_RUNNER_NAME": name}
            runner_env.update({f"EDITROOM_{k.upper()}": v for k, v in settings.items()})
            log = tmp_path / f"{name}.log"
            started[name] = stack.enter_context(editroom_process("runner", env=runner_env, log=log))
        yield started


def upload(api: httpx.Client, content: bytes, name: str = "p.png") -> dict[str, Any]:
    response = api.post("/bucket/upload", params={"filename": name}, content=content)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def events(api: httpx.Client, url: str) -> Iterator[tuple[str, dict[str, Any]]]:
    with api.stream("GET", url) as response:
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                yield name, json.loads(line.removeprefix("data: "))


def status(api: httpx.Client, edit: dict[str, Any]) -> str:
    return str(api.get(edit["url"]).json()["status"])


def test_upload_edit_follow_download(
    api: httpx.Client, env: dict[str, str], tmp_path: Path
) -> None:
    picture = upload(api, media.image_bytes("JPEG", size=(320, 240)), "beach.jpg")
    with runners(env, tmp_path, "runner-a"):
        made = api.post(
            "/edit", params={"media": picture["id"], "resize": "100x", "format": "webp"}
        )
        assert made.status_code == 202
        seen = list(events(api, made.json()["events_url"]))
    assert seen[-1][0] == "completed"
    (output,) = seen[-1][1]["outputs"]
    content = api.get(output["content_url"]).content
    with Image.open(io.BytesIO(content)) as result:
        assert (result.format, result.size) == ("WEBP", (100, 75))
    assert api.get(output["url"]).json()["original_name"] == "beach-edited.webp"


def test_streams_share_one_listen_connection(api: httpx.Client, conn: Conn) -> None:
    picture = upload(api, media.image_bytes("PNG", size=(64, 47)))
    made = [
        api.post("/edit", params={"media": picture["id"], "flip": "h"}).json() for _ in range(5)
    ]
    finished: list[str] = []

    def follow(edit: dict[str, Any]) -> None:
        finished.extend(name for name, _ in events(api, edit["events_url"]))

    threads = [threading.Thread(target=follow, args=(edit,)) for edit in made]
    for thread in threads:
        thread.start()
    eventually(lambda: len(finished) == 5, what="every stream's first event")  # all queued
    listeners = conn.execute(  # the service's (runners LISTEN to the queue too)
        """SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database()
              AND query = 'LISTEN "editroom_edit_events"; LISTEN "editroom_media_events"'"""
    ).fetchone()
    assert listeners == {"n": 1}
    for edit in made:
        api.delete(edit["url"])
    for thread in threads:
        thread.join(TIMEOUT_SECONDS)
    assert finished.count("cancelled") == 5


def test_two_runners_never_process_the_same_edit(
    api: httpx.Client, env: dict[str, str], tmp_path: Path, conn: Conn
) -> None:
    pictures = [upload(api, media.image_bytes("PNG", size=(40 + i, 30))) for i in range(20)]
    with runners(env, tmp_path, "runner-a", "runner-b"):
        made = [
            api.post("/edit", params={"media": p["id"], "rotate": "90", "format": "jpeg"}).json()
            for p in pictures
        ]
        for edit in made:
            eventually(lambda e=edit: status(api, e) == "completed", timeout=60, what="each edit")  # type: ignore[misc]
    histories = [attempts(conn, edit["id"]) for edit in made]
    assert all(len(history) == 1 for history in histories)
    assert {history[0]["worker"] for history in histories} == {"runner-a", "runner-b"}


SLOW = {"rotate": "33", "format": "avif"}  # a 5000x5000 picture: seconds of encoding


@pytest.fixture(scope="module")
def big_picture(api: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("big") / "big.png"
    media.gradient(5000, 5000).save(path)
    return upload(api, path.read_bytes(), "big.png")


def test_cancel_stops_a_running_edit_at_once(
    api: httpx.Client, env: dict[str, str], tmp_path: Path, big_picture: dict[str, Any]
) -> None:
    small = upload(api, media.image_bytes("PNG", size=(64, 46)))
    with runners(env, tmp_path, "runner-a", runner_concurrency="1"):
        slow = api.post("/edit", params={"media": big_picture["id"], **SLOW}).json()
        eventually(lambda: status(api, slow) == "processing", what="the slow edit to start")
        assert api.delete(slow["url"]).json()["status"] == "cancelled"
        # One slot: the next edit runs only once the cancelled one's work has really stopped.
        quick = api.post("/edit", params={"media": small["id"], "flip": "h", "wait": "20"})
        assert quick.json()["status"] == "completed"
    assert api.get(slow["url"]).json()["outputs"] == []
    assert 'msg="stopping edit"' in (tmp_path / "runner-a.log").read_text()


def test_a_runner_killed_mid_edit_and_the_edit_finishing_elsewhere(
    api: httpx.Client, env: dict[str, str], tmp_path: Path, conn: Conn,
) -> None:  # fmt: skip
    # Slow enough (a second or more) to be killed mid-edit as soon as it is seen processing;
    # not as big as the cancelled AVIF's picture: the survivor does it all again.
    path = tmp_path / "killed.png"
    media.gradient(3000, 3000).save(path)
    picture = upload(api, path.read_bytes(), "killed.png")
    short_lease = {"lease_seconds": "2", "heartbeat_seconds": "0.5"}
    with runners(env, tmp_path, "doomed", **short_lease) as started:
        slow = api.post("/edit", params={"media": picture["id"], "rotate": "33"}).json()
        eventually(lambda: status(api, slow) == "processing", what="the doomed runner to start")
        os.killpg(started["doomed"].pid, signal.SIGKILL)
    with runners(env, tmp_path, "survivor", **short_lease):
        eventually(lambda: status(api, slow) == "completed", timeout=TIMEOUT_SECONDS, what="redo")
    history = [(a["worker"], a["outcome"]) for a in attempts(conn, slow["id"])]
    assert history == [("doomed", "error"), ("survivor", "completed")]
