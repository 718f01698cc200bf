"""`editroom fsck`, with storage and rows broken both ways on purpose: an object with no row,
a row with no object, an object of the wrong size, and one with changed bytes of the right
size. What is safe is repaired, the rest reported, and the exit code says which."""

import asyncio
import errno
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from runner.engine.ops.base import MediaKind
from runner.engine.probe import MediaFacts
from service.domain.cleanup import CleanupReport, clean_up
from service.domain.fsck import CONCURRENT_CHECKS, Finding, FsckOptions, FsckReport, fsck
from service.kernel.db import Database
from service.kernel.settings import Settings
from service.kernel.storage.base import media_key
from service.kernel.storage.factory import open_storage
from tests import media
from tests.api import Api, api_settings, backdate, running_api
from tests.processes import editroom_env
from tests.queue import Conn, enqueue, insert_media, insert_sound_alone
from tests.s3 import S3Endpoint

GRACE_SECONDS = 2.0
# S3 keeps modification times to the second: an orphan is made a whole second past the grace.
ORPHAN_AGE = timedelta(seconds=GRACE_SECONDS + 1.1)


@pytest.fixture(params=["local", "s3"])
def api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, s3_endpoint: S3Endpoint
) -> Iterator[Api]:
    settings = api_settings(
        database_url, tmp_path / "data", request.param, s3_endpoint,
        orphan_grace_seconds=GRACE_SECONDS,
    )  # fmt: skip
    with running_api(settings) as running:
        yield running


def run_fsck(
    settings: Settings, *, copied: Callable[[Path], None] | None = None, **options: bool
) -> tuple[FsckReport, list[Finding]]:
    """fsck in this process; `copied` is told of each copy of an object it makes, once made
    (and may raise, as the copy would)."""
    findings: list[Finding] = []

    async def run() -> FsckReport:
        url = settings.require_database_url()
        async with Database.connect(url, max_size=2) as database:
            storage = await open_storage(settings)
            if copied is not None:
                told = telling(storage.get_file, copied)
                storage.get_file = told  # type: ignore[method-assign,assignment]
            return await fsck(
                database, storage, settings,
                options=FsckOptions(**options), on_finding=findings.append,
            )  # fmt: skip

    return asyncio.run(run()), findings


def telling(
    get_file: Callable[[str, Path], Coroutine[Any, Any, None]], copied: Callable[[Path], None]
) -> Callable[[str, Path], Coroutine[Any, Any, None]]:
    async def get_file_and_tell(key: str, target: Path) -> None:
        await get_file(key, target)
        copied(target)

    return get_file_and_tell


def store(settings: Settings, key: str, content: bytes, tmp_path: Path) -> None:
    source = tmp_path / secrets.token_hex(4)
    source.write_bytes(content)

    async def put() -> None:
        await (await open_storage(settings)).put_file(key, source, content_type="image/png")

    asyncio.run(put())


def remove(settings: Settings, key: str) -> None:
    async def delete() -> None:
        await (await open_storage(settings)).delete(key)

    asyncio.run(delete())


def keys(settings: Settings) -> set[str]:
    async def listing() -> set[str]:
        storage = await open_storage(settings)
        return {o.key async for o in storage.list("media")}

    return asyncio.run(listing())


def upload(api: Api, width: int) -> dict[str, Any]:
    response = api.upload(media.image_bytes("PNG", size=(width, 48)))
    assert response.status_code == 201
    uploaded: dict[str, Any] = response.json()
    return uploaded


def storage_key(conn: Conn, media_id: str) -> str:
    return str(media_column(conn, media_id, "storage_key"))


def media_column(conn: Conn, media_id: str, column: str) -> Any:
    """One column of a media row, as the database holds it now."""
    row = conn.execute(
        sql.SQL("SELECT {} FROM editroom.media WHERE id = %s").format(sql.Identifier(column)),
        [media_id],
    )
    found = row.fetchone()
    assert found is not None
    return found[column]


def summary(findings: list[Finding]) -> set[tuple[str, str, str]]:
    return {(f.problem, f.key, f.outcome) for f in findings}


@pytest.fixture
def broken(api: Api, conn: Conn, tmp_path: Path) -> dict[str, str]:
    """Storage and rows that disagree in every way fsck knows; the storage keys by role."""
    uploaded = {role: upload(api, 40 + i) for i, role in enumerate(("kept", "lost", "cut", "bad"))}
    key = {role: storage_key(conn, row["id"]) for role, row in uploaded.items()}
    remove(api.settings, key["lost"])
    store(api.settings, key["cut"], b"truncated", tmp_path)
    bad = bytearray(media.image_bytes("PNG", size=(43, 48)))
    bad[-20] ^= 0xFF  # changed bytes, same size
    store(api.settings, key["bad"], bytes(bad), tmp_path)
    key["orphan"] = media_key(secrets.token_hex(32))
    store(api.settings, key["orphan"], b"no row refers to me", tmp_path)
    backdate(api.settings, key["orphan"], ORPHAN_AGE)
    key["young"] = media_key(secrets.token_hex(32))  # an upload in flight, as far as we know
    store(api.settings, key["young"], b"my row is on its way", tmp_path)
    return key | {f"{role}_id": row["id"] for role, row in uploaded.items()}


def test_a_dry_run_reports_everything_and_changes_nothing(api: Api, broken: dict[str, str]) -> None:
    before = keys(api.settings)
    report, findings = run_fsck(api.settings, verify=True, repair_missing=True, dry_run=True)
    assert summary(findings) == {
        ("orphan", broken["orphan"], "would_repair"),
        ("missing", broken["lost"], "would_repair"),
        ("size_mismatch", broken["cut"], "left"),
        ("hash_mismatch", broken["bad"], "left"),
    }
    assert (report.objects_checked, report.media_checked) == (5, 4)
    assert (report.objects_hashed, report.young_unreferenced) == (2, 1)  # kept and bad
    assert not report.clean
    assert keys(api.settings) == before
    assert api.client.get(f"/bucket/upload/{broken['lost_id']}").status_code == 200


def test_orphans_go_missing_media_is_forgotten_only_when_asked_corruption_stays(
    api: Api, broken: dict[str, str]
) -> None:
    report, findings = run_fsck(api.settings)  # no --verify: same-size changes pass unseen
    assert summary(findings) == {
        ("orphan", broken["orphan"], "repaired"),
        ("missing", broken["lost"], "left"),
        ("size_mismatch", broken["cut"], "left"),
    }
    assert broken["orphan"] not in keys(api.settings)
    assert broken["young"] in keys(api.settings)
    assert api.client.get(f"/bucket/upload/{broken['lost_id']}").status_code == 200
    assert not report.clean

    report, findings = run_fsck(api.settings, verify=True, repair_missing=True)
    assert summary(findings) == {
        ("missing", broken["lost"], "repaired"),
        ("size_mismatch", broken["cut"], "left"),
        ("hash_mismatch", broken["bad"], "left"),
    }
    assert api.client.get(f"/bucket/upload/{broken['lost_id']}").status_code == 404
    # Never "fixed" by rewriting the row: the media still says what the upload was.
    for role in ("cut", "bad"):
        row = api.client.get(f"/bucket/upload/{broken[f'{role}_id']}").json()
        assert media_key(row["sha256"]) == broken[role]
    assert not report.clean

    for role in ("cut", "bad"):  # what a person does: delete the media (and upload it again)
        assert api.client.delete(f"/bucket/upload/{broken[f'{role}_id']}").status_code == 204
    report, findings = run_fsck(api.settings, verify=True, repair_missing=True)
    assert findings == [] and report.clean
    assert api.client.get(f"/bucket/upload/{broken['kept_id']}/content").status_code == 200


def test_lost_media_that_work_depends_on_is_not_forgotten(
    api: Api, conn: Conn, broken: dict[str, str]
) -> None:
    waiting = enqueue(conn, UUID(broken["lost_id"]))  # queued, no runner: still to run
    _, findings = run_fsck(api.settings, repair_missing=True)
    (missing,) = [f for f in findings if f.problem == "missing"]
    assert missing.outcome == "left"
    assert f"is read by edit {waiting['id']}, which is queued" in missing.detail
    conn.execute("SELECT editroom.cancel_edit(%s)", [waiting["id"]])

    session = api.client.post("/sessions", params={"media": broken["lost_id"]}).json()
    _, findings = run_fsck(api.settings, repair_missing=True)
    (missing,) = [f for f in findings if f.problem == "missing"]
    assert missing.outcome == "left"
    assert f"is the original of session {session['id']}" in missing.detail
    assert api.client.get(f"/bucket/upload/{broken['lost_id']}").status_code == 200

    assert api.client.delete(f"/sessions/{session['id']}").status_code == 204
    _, findings = run_fsck(api.settings, repair_missing=True)
    assert ("missing", broken["lost"], "repaired") in summary(findings)


def test_a_video_recorded_as_lasting_0_s_is_measured_again(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """An upload from before the probe read a header's 0 as no length: fsck measures it from
    its object, as an upload's check does, and records it; a dry run only says it would, and
    one the check now refuses is left, saying why. Sound alone is not measured so."""
    clip = media.write_video(tmp_path / "old.mp4", seconds=1.0, size=(64, 48))
    uploaded = api.upload(clip.read_bytes()).json()
    # Sound alone, which an upload's check refuses (no picture), is not measured so.
    sound = insert_sound_alone(conn, tmp_path)
    store(
        api.settings, storage_key(conn, str(sound)), (tmp_path / "sound.m4a").read_bytes(), tmp_path
    )
    conn.execute(
        "UPDATE editroom.media SET duration_seconds = 0 WHERE id = ANY(%s)",
        [[uploaded["id"], str(sound)]],
    )
    key = media_key(uploaded["sha256"])

    report, findings = run_fsck(api.settings, dry_run=True)
    assert summary(findings) == {("unknown_length", key, "would_repair")}
    assert api.client.get(f"/bucket/upload/{uploaded['id']}").json()["duration_seconds"] is None

    lowered = api.settings.model_copy(update={"max_video_seconds": 0.5})  # since its upload
    report, findings = run_fsck(lowered)
    assert summary(findings) == {("unknown_length", key, "left")}
    assert "measuring it failed: the video lasts 1 s; the limit is" in findings[0].detail
    assert not report.clean

    report, findings = run_fsck(api.settings)
    assert summary(findings) == {("unknown_length", key, "repaired")}
    assert findings[0].detail.startswith("its row says it lasts 0 s (unknown); measured 1")
    assert report.as_json()["found"]["unknown_length"] == 1 and report.clean
    row = api.client.get(f"/bucket/upload/{uploaded['id']}").json()
    assert row["duration_seconds"] == pytest.approx(uploaded["duration_seconds"])
    report, findings = run_fsck(api.settings)
    assert findings == [] and report.clean


def test_an_mp4_recorded_as_long_as_its_picture_is_measured_as_long_as_its_sound(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """One frame over 5 s of sound: an upload before this recorded its picture's 83 ms (an
    MP4's track declares its own length), and trim=0.1,3 was refused before queueing. Its row
    set to 0 s (unknown), as the README tells, fsck measures the 5 s a player shows."""
    clip = media.write_video(tmp_path / "one-frame.mp4", seconds=1 / 12, fps=12, sound_seconds=5)
    uploaded = api.upload(clip.read_bytes()).json()
    conn.execute("UPDATE editroom.media SET duration_seconds = 0 WHERE id = %s", (uploaded["id"],))
    report, findings = run_fsck(api.settings)
    assert summary(findings) == {("unknown_length", media_key(uploaded["sha256"]), "repaired")}
    assert report.clean
    row = api.client.get(f"/bucket/upload/{uploaded['id']}").json()
    assert row["duration_seconds"] == pytest.approx(5.0, abs=0.03)
    queued = api.client.post("/edit", params={"media": uploaded["id"], "trim": "0.1,3"})
    assert queued.status_code == 202, queued.text


def one_frame_recorded_as_its_picture(api: Api, conn: Conn, tmp_path: Path) -> dict[str, Any]:
    """One frame over 5 s of sound, its row set to what an upload before videoends recorded:
    its picture's 83 ms (an MP4's track declares its own length)."""
    clip = media.write_video(tmp_path / "one-frame.mp4", seconds=1 / 12, fps=12, sound_seconds=5)
    uploaded: dict[str, Any] = api.upload(clip.read_bytes()).json()
    conn.execute(
        "UPDATE editroom.media SET duration_seconds = %s WHERE id = %s", (1 / 12, uploaded["id"])
    )
    return uploaded


def duration(conn: Conn, media_id: str) -> float:
    return float(media_column(conn, media_id, "duration_seconds"))


def test_remeasure_videos_records_a_length_recorded_short_and_leaves_the_rest(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """Rows uploaded before a video lasted as long as its longest stream keep the picture's
    length, and fsck measured only rows at 0 s: nothing found them. --remeasure-videos measures
    every video; a dry run only says what it would record."""
    short = one_frame_recorded_as_its_picture(api, conn, tmp_path)
    normal = api.upload(media.write_video(tmp_path / "normal.mp4", seconds=2.0).read_bytes())
    normal_recorded = duration(conn, normal.json()["id"])
    key = media_key(short["sha256"])

    report, findings = run_fsck(api.settings)
    assert findings == [] and report.clean  # without the option, lengths are not measured

    report, findings = run_fsck(api.settings, remeasure_videos=True, dry_run=True)
    assert summary(findings) == {("wrong_length", key, "would_repair")}
    assert findings[0].detail.startswith("its row says it lasts 0.0833333 s; measured 5")
    assert findings[0].detail.endswith("it would be recorded")
    assert duration(conn, short["id"]) == pytest.approx(1 / 12) and not report.clean
    assert (report.videos_remeasured, report.lengths_recorded) == (2, 0)

    report, findings = run_fsck(api.settings, remeasure_videos=True)
    assert summary(findings) == {("wrong_length", key, "repaired")} and report.clean
    document = report.as_json()
    assert document["found"]["wrong_length"] == 1 and document["repaired"] == 1
    assert (document["videos_remeasured"], document["lengths_recorded"]) == (2, 1)
    assert "restart the service" in report.summary()
    assert duration(conn, short["id"]) == pytest.approx(5.0, abs=0.03)
    assert duration(conn, normal.json()["id"]) == normal_recorded  # within the tolerance
    queued = api.client.post("/edit", params={"media": short["id"], "trim": "0.1,3"})
    assert queued.status_code == 202, queued.text

    report, findings = run_fsck(api.settings, remeasure_videos=True)
    assert findings == [] and report.clean and "restart" not in report.summary()


def test_remeasure_videos_leaves_a_video_it_cannot_measure_saying_why(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    uploaded = api.upload(media.write_video(tmp_path / "long.mp4", seconds=1.0).read_bytes())
    lowered = api.settings.model_copy(update={"max_video_seconds": 0.5})  # since its upload
    report, findings = run_fsck(lowered, remeasure_videos=True)
    assert summary(findings) == {("unmeasured", media_key(uploaded.json()["sha256"]), "left")}
    assert "measuring it failed: the video lasts 1 s; the limit is" in findings[0].detail
    assert not report.clean and duration(conn, uploaded.json()["id"]) == pytest.approx(1.0)


def videos_of_unknown_length(api: Api, conn: Conn, tmp_path: Path, count: int) -> list[str]:
    """Uploaded videos whose rows then say they last 0 s; their storage keys."""
    uploaded = [
        api.upload(media.write_video(tmp_path / f"old{i}.mp4", size=(64 + 16 * i, 48)).read_bytes())
        for i in range(count)
    ]
    ids = [row.json()["id"] for row in uploaded]
    conn.execute("UPDATE editroom.media SET duration_seconds = 0 WHERE id = ANY(%s)", [ids])
    return [media_key(row.json()["sha256"]) for row in uploaded]


def test_fsck_measures_one_video_at_a_time_and_never_waits_for_itself(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """It measured 8 at once, each copied to disk before waiting for one of the uploads' check
    slots, and gave up as an upload does (ChecksBusy): with one slot and no wait, of two videos
    one was left, and fsck exited 1 over its own contention."""
    keys = videos_of_unknown_length(api, conn, tmp_path, 2)
    uploads = api.settings.uploads_dir
    on_disk: list[int] = []
    one_slot = api.settings.model_copy(update={"check_concurrency": 1, "check_wait_seconds": 0})

    report, findings = run_fsck(
        one_slot, copied=lambda _: on_disk.append(len(list(uploads.iterdir())))
    )

    assert summary(findings) == {("unknown_length", key, "repaired") for key in keys}
    assert report.clean and on_disk == [1, 1]
    assert list(uploads.iterdir()) == []


def test_other_rows_are_checked_while_a_video_waits_to_be_measured(
    api: Api, conn: Conn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each video waiting its turn to be measured held one of the 8 row slots: 8 of them, first
    in id order, and no other row was checked until they all were measured. Here measuring
    waits until the row after them (an image whose object is gone) has been checked."""
    keys = []
    for number in range(1, CONCURRENT_CHECKS + 1):
        content = f"video {number}".encode()
        digest = hashlib.sha256(content).hexdigest()
        keys.append(media_key(digest))
        store(api.settings, keys[-1], content, tmp_path)
        conn.execute(
            """INSERT INTO editroom.media (id, kind, content_type, size_bytes, sha256,
                   storage_key, width, height, duration_seconds, video_codec)
               VALUES (%s, 'video', 'video/mp4', %s, %s, %s, 64, 48, 0, 'h264')""",
            [UUID(int=number), len(content), digest, keys[-1]],
        )
    lost = hashlib.sha256(b"lost").hexdigest()
    conn.execute(
        """INSERT INTO editroom.media (id, kind, content_type, size_bytes, sha256, storage_key)
           VALUES (%s, 'image', 'image/png', 4, %s, %s)""",
        [UUID(int=CONCURRENT_CHECKS + 1), lost, media_key(lost)],
    )

    async def measured_once_lost_is_found(lengths: Any, row: Any) -> MediaFacts:
        # Never checked meanwhile: TimeoutError, and the first video is left, measuring failed.
        async with asyncio.timeout(10):
            while not lengths._report.found["missing"]:
                await asyncio.sleep(0.01)
        return MediaFacts(MediaKind.VIDEO, "video/mp4", 64, 48, duration_seconds=1.0)

    monkeypatch.setattr(
        "service.domain.fsck_lengths.VideoLengths._checked", measured_once_lost_is_found
    )
    _, findings = run_fsck(api.settings)

    assert summary(findings) == {("unknown_length", key, "repaired") for key in keys} | {
        ("missing", media_key(lost), "left")
    }


def test_a_video_over_the_upload_limit_is_not_copied_to_be_measured(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    (key,) = videos_of_unknown_length(api, conn, tmp_path, 1)
    copies: list[Path] = []
    size = conn.execute("SELECT size_bytes FROM editroom.media").fetchone()
    assert size is not None
    lowered = api.settings.model_copy(update={"max_upload_bytes": size["size_bytes"] - 1})

    report, findings = run_fsck(lowered, copied=copies.append)

    assert summary(findings) == {("unknown_length", key, "left")} and not report.clean
    assert (
        f"not measured: its object is {size['size_bytes']:,} bytes, over EDITROOM_MAX_UPLOAD_BYTES"
        in findings[0].detail
    )
    assert copies == []


def test_a_full_disk_while_copying_is_a_finding_not_the_end_of_fsck(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """An OSError while copying aborted the whole run; now the video is left, saying why, the
    next one measured, and the copy removed."""
    keys = videos_of_unknown_length(api, conn, tmp_path, 2)
    copies: list[Path] = []

    def disk_fills_once(target: Path) -> None:
        copies.append(target)
        if len(copies) == 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    report, findings = run_fsck(api.settings, copied=disk_fills_once)

    assert sorted(f.outcome for f in findings) == ["left", "repaired"]
    assert {f.key for f in findings} == set(keys) and not report.clean
    (left,) = [f for f in findings if f.outcome == "left"]
    assert left.detail.endswith("measuring it failed: No space left on device")
    assert str(copies[0]) not in left.detail  # a server path
    assert list(api.settings.uploads_dir.iterdir()) == []


def test_a_copy_a_killed_fsck_left_is_removed_by_the_cleanup(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """fsck's copy of an object is named as an upload's temporary file: one a killed fsck left
    (in a fsck-* folder of its own, it stayed for good) goes with `editroom cleanup`'s stale
    upload files."""
    videos_of_unknown_length(api, conn, tmp_path, 1)
    copies: list[Path] = []
    run_fsck(api.settings, copied=copies.append)
    (copy,) = copies
    assert not copy.exists()  # removed as fsck went on

    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(b"the part of an object copied when fsck was killed")
    then = time.time() - GRACE_SECONDS - 1
    os.utime(copy, (then, then))
    report = asyncio.run(cleanup(api.settings))

    assert report.stale_upload_files == 1
    assert not copy.exists()


async def cleanup(settings: Settings) -> CleanupReport:
    async with Database.connect(settings.require_database_url(), max_size=2) as database:
        return await clean_up(database, await open_storage(settings), settings)


RECORD = "SELECT editroom.record_measured_duration(%s, %s) AS recorded"


@pytest.mark.parametrize("seconds", [float("nan"), float("inf"), 0.0, -1.0])
def test_only_a_positive_finite_length_is_recorded(conn: Conn, seconds: float) -> None:
    """NaN passed `NOT p_duration_seconds > 0` (NaN is above every number in PostgreSQL): the
    row said NaN, neither 0 s nor a length, and fsck never measured it again."""
    video = insert_media(conn)
    conn.execute(
        "UPDATE editroom.media SET kind = 'video', duration_seconds = 0 WHERE id = %s", [video]
    )
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="positive number"):
        conn.execute(RECORD, [video, seconds])
    assert conn.execute(RECORD, [video, 2.5]).fetchone() == {"recorded": True}
    assert conn.execute(RECORD, [insert_media(conn), 2.5]).fetchone() == {"recorded": False}


REPLACE = "SELECT editroom.record_measured_duration(%s, %s, %s) AS recorded"


def test_a_measured_length_replaces_only_the_one_read_before_measuring(conn: Conn) -> None:
    """A length recorded meanwhile (another fsck, a DBA) is kept: the row must still say what
    fsck read, 0 s for one of unknown length. The release before's call still works."""
    video = insert_media(conn)
    conn.execute(
        "UPDATE editroom.media SET kind = 'video', duration_seconds = 0.5 WHERE id = %s", [video]
    )
    assert conn.execute(REPLACE, [video, 5.0, 0.25]).fetchone() == {"recorded": False}
    assert conn.execute(RECORD, [video, 5.0]).fetchone() == {"recorded": False}
    assert conn.execute(REPLACE, [video, 5.0, 0.5]).fetchone() == {"recorded": True}
    conn.execute("UPDATE editroom.media SET duration_seconds = 0 WHERE id = %s", [video])
    assert conn.execute(REPLACE, [video, 2.5, 0.5]).fetchone() == {"recorded": False}
    assert conn.execute(REPLACE, [video, 2.5, 0]).fetchone() == {"recorded": True}
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="p_replacing"):
        conn.execute(REPLACE, [video, 2.5, None])


def cli(api: Api, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    s3 = {}
    if api.settings.s3_endpoint:
        s3 = {
            "s3_endpoint": api.settings.s3_endpoint,
            "s3_access_key": api.settings.s3_access_key,
            "s3_secret_key": api.settings.s3_secret_key,
            "s3_bucket": api.settings.s3_bucket,
        }
    env = editroom_env(database_url, api.settings.data_dir, orphan_grace_seconds="1", **s3)
    return subprocess.run(
        [sys.executable, "-m", "service", "fsck", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_cli_says_what_it_found_and_exits_1_until_it_is_all_repaired(
    api: Api, database_url: str, conn: Conn, tmp_path: Path
) -> None:
    lost = upload(api, 50)
    remove(api.settings, storage_key(conn, lost["id"]))

    left = cli(api, database_url, "--json")
    assert left.returncode == 1, left.stderr
    document = json.loads(left.stdout)
    assert [(f["problem"], f["media_id"], f["outcome"]) for f in document["findings"]] == [
        ("missing", lost["id"], "left")
    ]
    assert document["summary"]["left"] == 1 and document["summary"]["clean"] is False

    repaired = cli(api, database_url, "--repair-missing")
    assert repaired.returncode == 0, repaired.stderr
    assert f"missing: {media_key(lost['sha256'])} (media {lost['id']})" in repaired.stdout
    assert "the media was forgotten [repaired]" in repaired.stdout

    clean = cli(api, database_url, "--verify")
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.splitlines()[-1] == "clean"


def test_the_cli_remeasures_videos_and_says_to_restart_the_service(
    api: Api, database_url: str, conn: Conn, tmp_path: Path
) -> None:
    short = one_frame_recorded_as_its_picture(api, conn, tmp_path)

    dry = cli(api, database_url, "--remeasure-videos", "--dry-run", "--json")
    assert dry.returncode == 1, dry.stderr
    document = json.loads(dry.stdout)
    assert [(f["problem"], f["media_id"], f["outcome"]) for f in document["findings"]] == [
        ("wrong_length", short["id"], "would_repair")
    ]
    assert document["summary"]["videos_remeasured"] == 1
    assert document["summary"]["lengths_recorded"] == 0
    assert duration(conn, short["id"]) == pytest.approx(1 / 12)

    repaired = cli(api, database_url, "--remeasure-videos")
    assert repaired.returncode == 0, repaired.stderr
    assert f"wrong_length: {media_key(short['sha256'])} (media {short['id']})" in repaired.stdout
    assert "(0 hashed, 1 video measured again)" in repaired.stdout
    assert "recorded 1 video length: restart the service" in repaired.stdout
    assert duration(conn, short["id"]) == pytest.approx(5.0, abs=0.03)


@pytest.mark.parametrize("options", [[], ["--json"]], ids=["text", "json"])
def test_the_cli_exits_2_when_the_bucket_directory_cannot_be_used(
    database_url: str, tmp_path: Path, options: list[str]
) -> None:
    """It was a FileExistsError (or PermissionError) traceback and status 1, which says
    "something found is left" to a script, when nothing had been checked. Nothing is
    printed on stdout (--json printed the start of its document, for jq to choke on)."""
    not_a_directory = tmp_path / "bucket"
    not_a_directory.write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "service", "fsck", *options],
        env=editroom_env(database_url, tmp_path / "data", storage_dir=str(not_a_directory)),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "level=" not in line]
    assert line.startswith("editroom: EDITROOM_STORAGE_DIR") and str(not_a_directory) in line
    assert result.stdout == ""


@pytest.mark.parametrize("command", [["fsck", "--json"], ["db", "current"]], ids=["fsck", "db"])
def test_a_reader_that_stops_reading_ends_the_cli_quietly(
    database_url: str, tmp_path: Path, command: list[str]
) -> None:
    """`editroom fsck --json | head` ended in a BrokenPipeError traceback. The pipe here is
    closed before the command writes at all, so any line it prints finds no reader; the exit
    status is the shell's for a program SIGPIPE ended (141), as `yes | head` leaves it."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "service", *command],
            env=editroom_env(database_url, tmp_path / "data"),
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr
    assert result.returncode == 141, result.stderr
