"""The clean-up removes expired presigned uploads, objects no row refers to and the scratch
folders of dead edit attempts, and nothing else: not media, not uploads in progress, not
anything younger than the grace period, not the folder of an attempt still at work."""

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from service.domain.cleanup import CleanupReport, clean_up
from service.kernel.db import Database
from service.kernel.storage.base import Storage, media_key
from service.kernel.storage.factory import open_storage
from tests import media
from tests.api import Api, api_settings, backdate, running_api
from tests.processes import editroom_env, editroom_process
from tests.queue import Conn, enqueue, insert_media
from tests.s3 import S3Endpoint
from tests.waiting import eventually

GRACE_SECONDS = 2.0
ORPHANED_BYTES = b"an object no row refers to"
HALF_AN_UPLOAD = b"half an upload"


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


def keys(api: Api) -> set[str]:
    async def listing() -> set[str]:
        storage: Storage = await open_storage(api.settings)
        return {o.key for prefix in ("media", "pending") async for o in storage.list(prefix)}

    return asyncio.run(listing())


def orphan(api: Api, tmp_path: Path) -> str:
    """An object no row refers to, as a crash between storing and recording would leave."""
    key = media_key(secrets.token_hex(32))
    source = tmp_path / secrets.token_hex(4)
    source.write_bytes(ORPHANED_BYTES)

    async def store() -> None:
        await (await open_storage(api.settings)).put_file(key, source, content_type="image/png")

    asyncio.run(store())
    return key


def run_cleanup(api: Api) -> CleanupReport:
    """The clean-up, in this process: it starts within milliseconds of the call."""

    async def run() -> CleanupReport:
        url = api.settings.require_database_url()
        async with Database.connect(url, max_size=2) as database:
            return await clean_up(database, await open_storage(api.settings), api.settings)

    return asyncio.run(run())


def stale_upload_file(api: Api, *, age_seconds: float) -> Path:
    api.settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    path = api.settings.uploads_dir / f"upload-{secrets.token_hex(4)}"
    path.write_bytes(HALF_AN_UPLOAD)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def presign_and_put(api: Api, content: bytes) -> dict[str, Any]:
    ticket: dict[str, Any] = api.client.post(
        "/bucket/upload/presign", params={"size": len(content)}
    ).json()
    url = ticket["upload_url"]
    if url.startswith(f"{api.settings.base_url}/"):
        api.client.put(url, content=content)
    else:
        import httpx2

        httpx2.put(url, content=content)
    return ticket


def test_only_orphans_and_expired_uploads_go(api: Api, conn: Conn, tmp_path: Path) -> None:
    kept_media = api.upload(media.image_bytes("PNG")).json()
    expired = presign_and_put(api, b"never completed")
    live = presign_and_put(api, b"still uploading")
    conn.execute("UPDATE editroom.media SET expires_at = now() - interval '1 second' WHERE id = %s",
                 [expired["id"]])  # fmt: skip
    old_orphan = orphan(api, tmp_path)
    backdate(api.settings, old_orphan, timedelta(seconds=GRACE_SECONDS + 1.1))
    old_file = stale_upload_file(api, age_seconds=60)
    young_orphan = orphan(api, tmp_path)
    young_file = stale_upload_file(api, age_seconds=0)
    before = keys(api)

    report = run_cleanup(api)

    assert report == CleanupReport(
        expired_uploads=1, orphaned_objects=1, orphaned_bytes=len(ORPHANED_BYTES),
        stale_upload_files=1, stale_upload_bytes=len(HALF_AN_UPLOAD), dead_scratch_folders=0,
    )  # fmt: skip
    assert keys(api) == before - {f"pending/{expired['id']}", old_orphan}
    assert young_orphan in keys(api)
    assert f"pending/{live['id']}" in keys(api)
    remaining = {str(row["id"]) for row in conn.execute("SELECT id FROM editroom.media")}
    assert remaining == {kept_media["id"], live["id"]}
    assert not old_file.exists()
    assert young_file.exists()
    assert api.client.get(kept_media["content_url"]).status_code == 200


def test_the_cli_cleans_up(database_url: str, tmp_path: Path) -> None:
    settings = api_settings(database_url, tmp_path / "data", "local", None)
    with running_api(settings) as api:
        kept = api.upload(media.image_bytes("PNG")).json()
        old, young = orphan(api, tmp_path), orphan(api, tmp_path)
        two_hours_ago = time.time() - 7200  # the default grace is one hour
        os.utime(settings.bucket_dir / old, (two_hours_ago, two_hours_ago))
        result = subprocess.run(
            [sys.executable, "-m", "service", "cleanup"],
            env=editroom_env(database_url, settings.data_dir),
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert result.stdout.splitlines() == [
            "expired presigned uploads removed: 0",
            f"orphaned stored objects removed: 1 ({len(ORPHANED_BYTES)} bytes)",
            "stale upload files removed: 0 (0 bytes)",
            "dead attempts' scratch folders removed: 0",
        ]
        assert keys(api) == {young, media_key(kept["sha256"])}


def test_the_cli_cleanup_answers_json_when_asked(database_url: str, tmp_path: Path) -> None:
    settings = api_settings(database_url, tmp_path / "data", "local", None)
    with running_api(settings) as api:
        old = orphan(api, tmp_path)
        two_hours_ago = time.time() - 7200  # the default grace is one hour
        os.utime(settings.bucket_dir / old, (two_hours_ago, two_hours_ago))
        result = subprocess.run(
            [sys.executable, "-m", "service", "cleanup", "--json"],
            env=editroom_env(database_url, settings.data_dir),
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
    assert json.loads(result.stdout) == {
        "expired_uploads": 0, "orphaned_objects": 1, "orphaned_bytes": len(ORPHANED_BYTES),
        "stale_upload_files": 0, "stale_upload_bytes": 0, "dead_scratch_folders": 0,
    }  # fmt: skip


def test_runners_clean_up_on_a_schedule(database_url: str, conn: Conn, tmp_path: Path) -> None:
    settings = api_settings(database_url, tmp_path / "data", "local", None, orphan_grace_seconds=0)
    with running_api(settings) as api:
        expired = presign_and_put(api, b"abandoned")
        conn.execute("UPDATE editroom.media SET expires_at = now() - interval '1 second'")
        env = editroom_env(
            database_url, settings.data_dir, orphan_grace_seconds="0",
            cleanup_interval_seconds="0.2",
        )  # fmt: skip
        with editroom_process("runner", env=env, log=tmp_path / "runner.log"):
            eventually(lambda: keys(api) == set(), what="the runner's clean-up")
        assert conn.execute("SELECT count(*) AS n FROM editroom.media").fetchone() == {"n": 0}
        assert expired["id"]


# An attempt as a runner makes it (the runner's own ScratchFolders), with a downloaded source,
# in a process of its own: the test kills it, or lets it live. An attempt that ended before
# left its folder as a spare, kept locked for the next.
ATTEMPT = """
import sys, time, uuid, psycopg
from pathlib import Path
from service.domain.scratch import ScratchFolders
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    edit_id, trial = conn.execute(
        "SELECT id, trial FROM editroom.claim_edits(%s, 1, %s::interval)", sys.argv[3:5]
    ).fetchone()
folders = ScratchFolders(Path(sys.argv[2]))
with folders.attempt(prefix="edit", edit_id=edit_id, trial=trial) as work:
    with folders.attempt(prefix="edit", edit_id=uuid.uuid4(), trial=1) as ended:
        pass
    (work / f"in-{edit_id}").write_bytes(bytes(1024 * 1024))
    print(work, flush=True)
    print(ended.parent / ("spare-" + ended.name.rsplit("-", 1)[1]), flush=True)
    time.sleep(600)
"""


@dataclass
class Attempts:
    killed_and_reaped: Path
    killed_lease_running: Path  # the runner died a moment ago: the queue does not know yet
    alive: Path
    unlocked_running: Path  # died between making its folder and locking it; lease running
    unlocked_over: Path  # the same, its edit since failed
    spare_of_killed_and_reaped: Path  # a killed runner's folder kept for its next attempt
    spare_of_killed_lease_running: Path
    spare_alive: Path
    spare_unlocked: Path  # never left so by a runner, which renames only locked folders


@pytest.fixture
def attempts(conn: Conn, database_url: str, tmp_path: Path) -> Iterator[Attempts]:
    work_dir = tmp_path / "data" / "work"
    media_id = insert_media(conn)
    with contextlib.ExitStack() as alive:

        def attempt(worker: str, lease: str, *, kill: bool) -> tuple[Path, Path]:
            enqueue(conn, media_id, max_trials=1)
            process = subprocess.Popen(
                [sys.executable, "-c", ATTEMPT, database_url, str(work_dir), worker, lease],
                stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            alive.callback(process.wait)
            alive.callback(process.kill)
            assert process.stdout is not None
            with process.stdout:
                folder = Path(process.stdout.readline().strip())
                spare = Path(process.stdout.readline().strip())
            assert spare.is_dir()
            if kill:
                process.send_signal(signal.SIGKILL)
                process.wait()
            return folder, spare

        reaped, reaped_spare = attempt("doomed", "1 second", kill=True)
        eventually(lambda: reap(conn), what="its lease to run out")
        running, running_spare = attempt("doomed-just-now", "5 minutes", kill=True)
        live, live_spare = attempt("alive", "5 minutes", kill=False)
        unlocked_spare = work_dir / f"spare-{secrets.token_hex(4)}"
        unlocked_spare.mkdir()
        yield Attempts(
            killed_and_reaped=reaped,
            killed_lease_running=running,
            alive=live,
            unlocked_running=unlocked_folder(conn, work_dir, media_id, status="processing"),
            unlocked_over=unlocked_folder(conn, work_dir, media_id, status="failed"),
            spare_of_killed_and_reaped=reaped_spare,
            spare_of_killed_lease_running=running_spare,
            spare_alive=live_spare,
            spare_unlocked=unlocked_spare,
        )


def reap(conn: Conn) -> int:
    row = conn.execute("SELECT editroom.reap_expired_leases() AS n").fetchone()
    return int(row["n"]) if row else 0


def unlocked_folder(conn: Conn, work_dir: Path, media_id: UUID, *, status: str) -> Path:
    edit = enqueue(conn, media_id)
    claimed = conn.execute(
        "SELECT id, trial FROM editroom.claim_edits('gone', 1, '5 minutes')"
    ).fetchone()
    assert claimed is not None and claimed["id"] == edit["id"]
    if status == "failed":
        conn.execute("SELECT editroom.fail_edit(%s, 'gone', 'disk on fire', false)", [edit["id"]])
    folder = work_dir / f"edit-{edit['id']}-{claimed['trial']}-{secrets.token_hex(4)}"
    folder.mkdir()
    (folder / "in-source").write_bytes(b"a source")
    return folder


def listening(conn: Conn) -> bool:
    """The runner has started: it clears dead scratch before it begins to LISTEN."""
    row = conn.execute(
        """SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND query LIKE 'LISTEN "editroom_queue"%'"""
    ).fetchone()
    return bool(row and row["n"])


def scratch_left(attempts: Attempts) -> set[str]:
    return {name for name, path in vars(attempts).items() if path.exists()}


STILL_AT_WORK = {"alive", "unlocked_running", "spare_alive"}


def test_a_new_runner_removes_dead_attempts_scratch_at_start(
    database_url: str, conn: Conn, attempts: Attempts, tmp_path: Path
) -> None:
    assert scratch_left(attempts) == set(vars(attempts))
    env = editroom_env(database_url, tmp_path / "data")  # the clean-up's interval: an hour
    with editroom_process("runner", env=env, log=tmp_path / "runner.log"):
        eventually(lambda: listening(conn), timeout=30, what="the runner to start and LISTEN")
        assert scratch_left(attempts) == STILL_AT_WORK
    assert (attempts.alive / ".lock").exists()


def test_the_cli_cleanup_removes_dead_attempts_scratch(
    database_url: str, attempts: Attempts, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "service", "cleanup"],
        env=editroom_env(database_url, tmp_path / "data"),
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert "dead attempts' scratch folders removed: 6" in result.stdout.splitlines()
    assert scratch_left(attempts) == STILL_AT_WORK
