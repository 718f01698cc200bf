"""Idempotency-Key on POST /edit and workflow runs: a retried request gets the edits the first
made, never new ones, whatever else it says; a key reused for another request is refused."""

import asyncio
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from service.domain.idempotency import Made, made_once
from service.kernel.db import Database
from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import Conn, enqueue, insert_media
from tests.runner_harness import running_runner
from tests.served import served
from tests.waiting import eventually

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path)


def upload(api: Api, size: tuple[int, int] = (64, 48)) -> str:
    body = api.upload(media.image_bytes("PNG", size=size), filename="p.png").json()
    return str(body["id"])


def edits_made(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone()
    assert row is not None
    return int(row["n"])


def complete_by_hand(conn: Conn, edit_id: str) -> None:
    (claimed,) = conn.execute(
        "SELECT * FROM editroom.claim_edit(%s, 'hand', '1 minute')", [edit_id]
    ).fetchall()
    conn.execute("SELECT editroom.complete_edit(%s, 'hand', '{}', %s)", [edit_id, claimed["trial"]])


def test_a_retry_with_the_key_answers_the_same_edit_even_with_fresh(api: Api, conn: Conn) -> None:
    picture = upload(api)
    params = {"media": picture, "flip": "h", "fresh": "true"}
    first = api.client.post("/edit", params=params, headers={KEY: "order-1"})
    assert first.status_code == 202
    assert REPLAYED not in first.headers
    complete_by_hand(conn, first.json()["id"])  # now fresh=true alone would make a new one

    retry = api.client.post("/edit", params=params, headers={KEY: "order-1"})

    assert retry.headers[REPLAYED] == "true"
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["status"] == "completed"  # the edit as it is now
    assert retry.headers["Location"] == first.headers["Location"]
    assert edits_made(conn) == 1
    unkeyed = api.client.post("/edit", params=params)
    assert unkeyed.json()["id"] != first.json()["id"]  # what fresh=true does without a key


def test_the_request_is_compared_in_canonical_form(api: Api, conn: Conn) -> None:
    picture = upload(api)
    first = api.client.post("/edit", params={"media": picture, "resize": "20x"}, headers={KEY: "k"})
    # The same operations written out in full, in another parameter order, with a wait.
    same = api.client.post(
        "/edit",
        params=[("wait", "0"), ("resize", "20x"), ("fit", "contain"), ("media", picture)],
        headers={KEY: "k"},
    )
    assert same.headers.get(REPLAYED) == "true"
    assert same.json()["id"] == first.json()["id"]
    assert edits_made(conn) == 1


@pytest.mark.parametrize(
    "change",
    [{"flip": "v"}, {"flip": "h", "priority": "5"}, {"flip": "h", "fresh": "true"}, "media"],
)
def test_the_key_with_another_request_is_a_422(
    api: Api, conn: Conn, change: dict[str, str] | str
) -> None:
    picture = upload(api)
    api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: "used"})
    if change == "media":
        params = {"media": upload(api, size=(30, 20)), "flip": "h"}
    else:
        assert isinstance(change, dict)
        params = {"media": picture, **change}

    refused = api.client.post("/edit", params=params, headers={KEY: "used"})

    assert refused.status_code == 422
    body = refused.json()
    assert (body["parameter"], body["value"]) == (KEY, "used")
    assert "another request" in body["detail"]
    assert edits_made(conn) == 1


@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "is empty"), ("x" * 256, "256 characters"), ("tab\there", "printable ASCII"),
     ("caf\u00e9", "printable ASCII")],
)  # fmt: skip
def test_a_malformed_key_is_a_400(api: Api, conn: Conn, key: str, problem: str) -> None:
    picture = upload(api)
    refused = api.client.post(
        "/edit",
        params={"media": picture, "flip": "h"},
        headers={KEY.encode(): key.encode("latin-1")},
    )
    assert refused.status_code == 400
    assert refused.json()["parameter"] == KEY
    assert problem in refused.json()["detail"]
    assert edits_made(conn) == 0


def test_a_key_sent_as_utf_8_is_shown_as_written(api: Api) -> None:
    """curl sends `é` as its UTF-8 bytes: the refusal shows `é`, not `Ã©`, and names the rule."""
    refused = api.client.post(
        "/edit",
        params={"media": upload(api), "flip": "h"},
        headers={KEY.encode(): "caf\u00e9".encode()},
    )
    assert refused.status_code == 400
    assert refused.json()["value"] == "caf\u00e9"
    assert refused.json()["detail"] == (
        f"{KEY}='caf\u00e9': has '\u00e9' (U+00E9), which is not a printable ASCII character; "
        "accepted: 1 to 255 printable ASCII characters, unique per request, e.g. a UUID"
    )


def test_the_longest_key_is_accepted(api: Api) -> None:
    picture = upload(api)
    key = "~ " + "k" * 253
    first = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: key})
    again = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: key})
    assert first.status_code == 202
    assert again.headers[REPLAYED] == "true"


def test_a_replay_is_not_refused_by_a_full_queue(database_url: str, tmp_path: Path) -> None:
    settings = quick_settings(database_url, tmp_path, max_queued=1)
    with running_api(settings) as api:
        picture = upload(api)
        first = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: "a"})
        other = api.client.post("/edit", params={"media": picture, "flip": "v"}, headers={KEY: "b"})
        again = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: "a"})
    assert other.status_code == 429
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]


def test_a_workflow_run_and_a_batch_are_answered_again(api: Api, conn: Conn) -> None:
    workflow = api.client.post("/workflows?name=thumb&resize=20x").json()
    pictures = [upload(api, size=(40 + i, 30)) for i in range(3)]
    run = f"{workflow['url']}/run"

    one = api.client.post(run, params={"media": pictures[0]}, headers={KEY: "run-1"})
    one_again = api.client.post(run, params={"media": pictures[0]}, headers={KEY: "run-1"})
    batch = api.client.post(run, json={"media": pictures}, headers={KEY: "batch-1"})
    batch_again = api.client.post(run, json={"media": pictures}, headers={KEY: "batch-1"})

    assert one_again.headers[REPLAYED] == "true"
    assert one_again.json()["id"] == one.json()["id"]
    assert REPLAYED not in batch.headers
    assert batch_again.headers[REPLAYED] == "true"
    ids = [edit["id"] for edit in batch.json()["edits"]]
    assert [edit["id"] for edit in batch_again.json()["edits"]] == ids
    assert [edit["media_id"] for edit in batch_again.json()["edits"]] == pictures
    assert ids[0] == one.json()["id"]  # the batch joined the identical edit the run made
    assert edits_made(conn) == 3
    reordered = api.client.post(run, json={"media": pictures[::-1]}, headers={KEY: "batch-1"})
    assert reordered.status_code == 422
    elsewhere = api.client.post(
        "/edit", params={"media": pictures[0], "resize": "20x"}, headers={KEY: "run-1"}
    )
    assert elsewhere.status_code == 422
    assert edits_made(conn) == 3


def test_a_replay_reads_the_key_and_what_it_left_out_in_one_statement(
    database_url: str, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's replay: the key taken, with the media the first left out, then its edits read;
    two statements. It read left_out in a third, a round trip more on every replay."""
    edit = enqueue(conn, insert_media(conn))
    left_out = [{"media": "m", "error": {"problem": "media m does not exist"}}]
    ran: list[str] = []
    fetch_all = Database.fetch_all

    async def counted(database: Database, query: str, **params: Any) -> list[Any]:
        ran.append(query)
        return await fetch_all(database, query, **params)

    async def twice() -> tuple[Made, Made]:
        async def make() -> Made:
            return Made([edit], left_out=left_out)

        async with Database.connect(database_url, max_size=1) as database:
            answers = [
                await made_once(
                    database, key="batch", request="c" * 64, window_seconds=60, make=make
                )
                for _ in range(2)
            ]
        return answers[0], answers[1]

    monkeypatch.setattr(Database, "fetch_all", counted)
    first, replay = asyncio.run(twice())
    assert (first.replayed, replay.replayed) == (False, True)
    assert [row["id"] for row in replay.rows] == [edit["id"]]
    assert replay.left_out == left_out
    first_made, replayed = ["take_idempotency_key", "keep_idempotency_key"], ran[2:]
    assert (ran[:2], replayed) == (first_made, ["take_idempotency_key", "edits_by_ids"])


TAKE = "SELECT * FROM editroom.take_idempotency_key_with_left_out('k', %s)"
# The call of the releases before migration 0020 (their queries.sql), which a process of the
# release before still makes after `db upgrade`: NULL, the key is its own.
TAKE_BEFORE_0020 = "SELECT editroom.take_idempotency_key(%s, %s, %s) AS edit_ids"


def test_the_release_before_still_takes_keys_after_the_upgrade(conn: Conn) -> None:
    """0020 changed take_idempotency_key's result to (edit_ids, left_out), a row never NULL:
    that code took every first request for a replay (of no edits), and failed it."""
    fingerprint, edit_id, window = "a" * 64, "00000000-0000-0000-0000-0000000000e1", "1 hour"
    first = conn.execute(TAKE_BEFORE_0020, ["k", fingerprint, window]).fetchone()
    assert first == {"edit_ids": None}
    conn.execute("SELECT editroom.keep_idempotency_key('k', ARRAY[%s::uuid])", [edit_id])
    replay = conn.execute(TAKE_BEFORE_0020, ["k", fingerprint, window]).fetchone()
    assert replay == {"edit_ids": [UUID(edit_id)]}
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="another request"):
        conn.execute(TAKE_BEFORE_0020, ["k", "b" * 64, window])


def test_a_key_waits_for_the_transaction_that_took_it(database_url: str, conn: Conn) -> None:
    """SQL: the second taker waits until the first commits, then gets the first's edits and
    what it left out, both in the one call (a statement of its own after it would see them too:
    read committed; the call saves that round trip)."""
    fingerprint = "a" * 64
    edit_id = "00000000-0000-0000-0000-0000000000e1"
    with psycopg.connect(database_url) as first:
        taken = first.execute(TAKE, [fingerprint]).fetchone()
        assert taken == (None, None)
        answers: list[Any] = []
        second = threading.Thread(
            target=lambda: answers.append(conn.execute(TAKE, [fingerprint]).fetchone())
        )
        second.start()
        with psycopg.connect(database_url, autocommit=True) as watching:
            eventually(lambda: waiting_for_a_lock(watching), what="the second taker to wait")
        assert not answers  # waiting on the first's row
        first.execute(
            "SELECT editroom.keep_idempotency_key('k', ARRAY[%s::uuid], '[\"left\"]')", [edit_id]
        )
        first.commit()
        second.join(10)
    assert answers == [{"edit_ids": [UUID(edit_id)], "left_out": ["left"]}]


def waiting_for_a_lock(conn: "psycopg.Connection[Any]") -> bool:
    """Whether a session of this database waits for a lock (another's row)."""
    row = conn.execute(
        """SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'"""
    ).fetchone()
    return row is not None and row[0] > 0


def test_a_rolled_back_key_is_free_and_an_expired_one_forgotten(conn: Conn) -> None:
    fingerprint, other = "a" * 64, "b" * 64
    conn.execute("BEGIN")
    conn.execute(TAKE, [fingerprint])
    conn.execute("ROLLBACK")
    assert conn.execute(TAKE, [other]).fetchone() == {"edit_ids": None, "left_out": None}
    conn.execute("SELECT editroom.keep_idempotency_key('k', '{}')")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="another request"):
        conn.execute(TAKE, [fingerprint])
    conn.execute("UPDATE editroom.idempotency_keys SET expires_at = now() - interval '1 s'")
    forgotten = conn.execute("SELECT editroom.forget_expired_idempotency_keys() AS n")
    assert forgotten.fetchone() == {"n": 1}
    taken = conn.execute(TAKE, [fingerprint]).fetchone()
    assert taken == {"edit_ids": None, "left_out": None}  # a new request now


def test_the_runners_housekeeping_forgets_expired_keys(database_url: str, tmp_path: Path,
                                                       conn: Conn) -> None:  # fmt: skip
    conn.execute(
        """INSERT INTO editroom.idempotency_keys (key, fingerprint, edit_ids, expires_at)
           VALUES ('old', repeat('a', 64), '{}', now() - interval '1 s'),
                  ('new', repeat('a', 64), '{}', now() + interval '1 hour')"""
    )
    settings = quick_settings(database_url, tmp_path, reap_interval_seconds=0.1)
    with running_runner(settings):
        eventually(
            lambda: (
                [r["key"] for r in conn.execute("SELECT key FROM editroom.idempotency_keys")]
                == ["new"]
            ),
            timeout=10,
        )


def test_requests_with_one_key_at_once_make_one_edit(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    """Real concurrent connections to a real server, each running a workflow (which, unlike
    an identical POST /edit, makes a new edit every time): one edit, every answer names it,
    all but one say they are replays."""
    # Under its own uvicorn server in a thread (tests/served.py), on a real socket: the same
    # server as `editroom serve`'s, without seconds of a process starting.
    with served(quick_settings(database_url, tmp_path / "data")) as running:
        base_url, host = running.url, {"Host": running.host}
        content = media.image_bytes("PNG", size=(64, 48))
        upload = f"{base_url}/bucket/upload?filename=p.png"
        picture = post_json(upload, data=content, headers=host)[0]["id"]
        workflow = post_json(f"{base_url}/workflows?name=turn&rotate=90", headers=host)[0]
        start = threading.Barrier(8)

        def run(_: int) -> tuple[str, str | None]:
            start.wait()
            body, replayed = post_json(
                f"{base_url}{workflow['url']}/run?media={picture}",
                headers={**host, KEY: "same-time"},
            )
            return body["id"], replayed

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(run, range(8)))
    assert len({edit_id for edit_id, _ in answers}) == 1
    assert sorted(str(replayed) for _, replayed in answers) == ["None"] + ["true"] * 7
    assert edits_made(conn) == 1


def post_json(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[Any, str | None]:
    """POST on a connection of its own: the answer's JSON, and its Idempotent-Replayed."""
    request = urllib.request.Request(url, data=data, method="POST", headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer), answer.headers.get(REPLAYED)


def test_the_openapi_document_has_the_header_and_the_replay(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ("/edit", "/workflows/{workflow_id}/run"):
        operation = paths[path]["post"]
        (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == KEY
        assert "EDITROOM_IDEMPOTENCY_WINDOW_SECONDS" in header["description"]
        assert REPLAYED in operation["responses"]["202"]["headers"]
        assert "400" in operation["responses"]


def test_a_replay_of_pruned_edits_says_they_are_gone(api: Api, conn: Conn) -> None:
    picture = upload(api)
    first = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: "old"})
    api.client.delete(first.json()["url"])  # cancelled: finished, so retention may prune it
    conn.execute(  # finished long ago, archived, then its day dropped by retention
        "UPDATE editroom.edits SET finished_at = now() - interval '40 days' WHERE id = %s",
        [first.json()["id"]],
    )
    conn.execute("SELECT editroom.archive_finished_edits(interval '0 seconds', 1000)")
    conn.execute("SELECT editroom.prune_finished_edits(interval '30 days')")

    gone = api.client.post("/edit", params={"media": picture, "flip": "h"}, headers={KEY: "old"})

    assert gone.status_code == 404
    assert "no longer exist" in gone.json()["detail"]
    assert edits_made(conn) == 0
