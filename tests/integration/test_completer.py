"""A runner's completions carry the media rows of their edits' results: added in the same
statement as the completion, in each edit's order, and not at all for an edit the runner no
longer holds."""

import asyncio
import hashlib
import secrets
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from runner.process.completer import Completer, Outputs
from runner.process.execute import ClaimedEdit, ReportProgress
from service.domain.library import NewMedia
from service.kernel.db import Database
from service.kernel.errors import Conflict, EditroomError
from tests.api import quick_settings
from tests.queue import Conn, claim, edit, enqueue, insert_media
from tests.runner_harness import running_runner
from tests.waiting import eventually

WORKER = "completer-test"


def result(edit_id: UUID, source: UUID) -> NewMedia:
    digest = hashlib.sha256(secrets.token_bytes(16)).hexdigest()
    return NewMedia(
        {
            "kind": "image", "content_type": "image/jpeg", "size_bytes": 1234, "sha256": digest,
            "storage_key": f"media/{digest}", "original_name": "holiday-edited.jpg",
            "width": 800, "height": 600, "duration_seconds": None, "frame_rate": None,
            "video_codec": None, "audio_codec": None, "source_edit_id": str(edit_id),
            "source_media_id": str(source), "source_seconds": None,
        }
    )  # fmt: skip


def claimed(conn: Conn, source: UUID) -> dict[str, Any]:
    made = enqueue(conn, source)
    (row,) = claim(conn, WORKER)
    assert row["id"] == made["id"]
    return row


def complete(database_url: str, *completions: tuple[UUID, Outputs, int]) -> list[Any]:
    """Each completion at once (one batch), answered in order: its output ids, or its error."""

    async def run() -> list[Any]:
        async with Database.connect(database_url) as database:
            completer = Completer(database, WORKER, patience_seconds=5)
            return await asyncio.gather(
                *(completer.complete(i, outputs, trial=trial) for i, outputs, trial in completions),
                return_exceptions=True,
            )

    return asyncio.run(run())


def media_with(conn: Conn, sha256: str) -> dict[str, Any] | None:
    return conn.execute("SELECT * FROM editroom.media WHERE sha256 = %s", [sha256]).fetchone()


def test_a_completion_adds_its_results_media_in_order(conn: Conn, database_url: str) -> None:
    source = insert_media(conn)
    one, other = claimed(conn, source), claimed(conn, source)
    first, second = result(one["id"], source), result(one["id"], source)
    known = insert_media(conn)
    answers = complete(
        database_url, (one["id"], [first, second], one["trial"]), (other["id"], [known], 1)
    )
    outputs, known_only = answers
    assert known_only == [known]
    rows = [media_with(conn, new.columns["sha256"]) for new in (first, second)]
    assert [row["id"] for row in rows if row] == outputs
    assert edit(conn, one["id"])["outputs"] == outputs
    assert edit(conn, one["id"])["status"] == "completed"
    assert edit(conn, other["id"])["outputs"] == [known]
    assert all(row and row["source_edit_id"] == one["id"] for row in rows)
    assert all(row and row["source_media_id"] == source for row in rows)


def test_the_same_bytes_again_are_the_media_they_already_are(conn: Conn, database_url: str) -> None:
    source = insert_media(conn)
    one, other = claimed(conn, source), claimed(conn, source)
    new = result(one["id"], source)
    (first,) = complete(database_url, (one["id"], [new], one["trial"]))
    (again,) = complete(database_url, (other["id"], [new], other["trial"]))
    assert again == first
    assert edit(conn, other["id"])["outputs"] == first


def test_an_edit_no_longer_held_adds_no_media(conn: Conn, database_url: str) -> None:
    source = insert_media(conn)
    held = claimed(conn, source)
    conn.execute("SELECT editroom.cancel_edit(%s)", [held["id"]])
    new = result(held["id"], source)
    (answer,) = complete(database_url, (held["id"], [new], held["trial"]))
    assert isinstance(answer, Conflict)
    assert media_with(conn, new.columns["sha256"]) is None
    assert edit(conn, held["id"])["status"] == "cancelled"


@pytest.mark.parametrize("cancelled", ["first", "second"])
def test_a_batch_with_one_edit_no_longer_held_completes_the_others(
    conn: Conn, database_url: str, cancelled: str
) -> None:
    source = insert_media(conn)
    edits = {"first": claimed(conn, source), "second": claimed(conn, source)}
    conn.execute("SELECT editroom.cancel_edit(%s)", [edits[cancelled]["id"]])
    results = {name: result(row["id"], source) for name, row in edits.items()}
    answers = dict(
        zip(
            edits,
            complete(
                database_url,
                *((row["id"], [results[name]], row["trial"]) for name, row in edits.items()),
            ),
            strict=True,
        )
    )
    (kept,) = set(edits) - {cancelled}
    assert isinstance(answers[cancelled], Conflict)
    assert media_with(conn, results[cancelled].columns["sha256"]) is None
    row = media_with(conn, results[kept].columns["sha256"])
    assert row is not None and answers[kept] == [row["id"]]
    assert edit(conn, edits[kept]["id"])["status"] == "completed"


def test_a_result_the_database_refuses_fails_only_its_own_edit(
    conn: Conn, database_url: str
) -> None:
    source = insert_media(conn)
    good, bad = claimed(conn, source), claimed(conn, source)
    refused = NewMedia({**result(bad["id"], source).columns, "height": 0})  # CHECK height > 0
    kept = result(good["id"], source)
    answers = complete(
        database_url, (good["id"], [kept], good["trial"]), (bad["id"], [refused], bad["trial"])
    )
    row = media_with(conn, kept.columns["sha256"])
    assert row is not None and answers[0] == [row["id"]]
    assert isinstance(answers[1], EditroomError)
    assert edit(conn, bad["id"])["status"] == "processing"  # the runner decides what follows


def test_a_runner_fails_an_edit_whose_result_the_database_refuses(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    """Not left in processing until its lease runs out: failed at once, with the reason."""
    source = insert_media(conn)
    made = enqueue(conn, source, max_trials=1)

    async def refused_result(claimed: ClaimedEdit, report: ReportProgress) -> Outputs:
        return [NewMedia({**result(claimed.id, source).columns, "width": 0})]

    settings = quick_settings(database_url, tmp_path / "data", lease_seconds=300)
    with running_runner(settings, execute=refused_result):
        eventually(
            lambda: edit(conn, made["id"])["status"] == "failed",
            timeout=20, what="the edit to fail",
        )  # fmt: skip
    assert "width" in edit(conn, made["id"])["error"]
