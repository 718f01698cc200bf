"""The fault suite: real damage to real processes, each test bounded in time. Runners are
SIGKILLed at seeded random moments, PostgreSQL is stopped and started under traffic, the S3
endpoint is cut off and restored, the work disk fills up mid-edit, and 20 clients flood the
API. Each test writes its figures to tests/e2e/artifacts/reliability.json; docs/reliability.md
says what editroom promises and quotes the last run."""

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from service.kernel import migrations
from tests import media
from tests.conftest import REQUIRE_ALL
from tests.faults import cuttable_proxy, own_postgres, record
from tests.processes import background_process, editroom_env, serving
from tests.queue import Conn, disable_backoff
from tests.s3 import S3Endpoint, moto_s3
from tests.scratch import left_behind as attempts_left
from tests.waiting import eventually

pytestmark = pytest.mark.e2e

# Leases, heartbeats and reaping at test speed: a killed runner's edits are back in seconds.
QUICK = {
    "lease_seconds": "3",
    "heartbeat_seconds": "0.5",
    "reap_interval_seconds": "0.5",
    "poll_interval_seconds": "0.5",
    "runner_metrics_port": "0",
    "edit_max_trials": "5",
}
FINISHED = ("completed", "failed", "cancelled")
S3_OUTAGE_SECONDS = 8
# GET /edit/{id} while 20 clients flood POST /edit, on 2 cores shared with other work.
READ_P99_BOUND_SECONDS = 1.0


@contextmanager
def runner(env: dict[str, str], log: Path) -> Iterator["subprocess.Popen[bytes]"]:
    argv = [sys.executable, "-m", "service", "runner"]
    with background_process(argv, env=env, log=log) as process:
        yield process


def upload(api: httpx.Client, name: str, data: bytes) -> str:
    response = api.post("/bucket/upload", files={"file": (name, data)})
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def small_video(tmp_path: Path, name: str = "clip.mp4", **options: Any) -> bytes:
    return media.write_video(tmp_path / name, acodec=None, **options).read_bytes()


def statuses(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT status::text, count(*) AS n FROM editroom.edits GROUP BY 1")
    return {row["status"]: row["n"] for row in rows.fetchall()}


def all_finished(conn: Conn, total: int) -> bool:
    counts = statuses(conn)
    return sum(counts.get(status, 0) for status in FINISHED) == total


def holding(conn: Conn, pid: int) -> bool:
    """Whether the runner process `pid` holds an edit, within a few seconds (it may still be
    starting): it is killed mid-work, not while idle."""
    try:
        return bool(eventually(lambda: conn.execute(
            "SELECT 1 FROM editroom.edits WHERE status = 'processing' AND locked_by LIKE %s",
            [f"%:{pid}"]).fetchone(), timeout=5, what="a claim"))  # fmt: skip
    except AssertionError:
        return False


def integrity(conn: Conn, bucket: Path) -> dict[str, int]:
    """What the damage must never cause: an edit completed twice, an output media no edit
    names, a stored object no media row points to."""
    twice = conn.execute(
        """SELECT count(*) AS n FROM (SELECT edit_id FROM editroom.edit_attempts
            WHERE outcome = 'completed' GROUP BY edit_id HAVING count(*) > 1) AS t"""
    ).fetchone()
    orphans = conn.execute(
        """SELECT count(*) AS n FROM editroom.media m
             LEFT JOIN editroom.edits e ON e.id = m.source_edit_id
            WHERE m.source_edit_id IS NOT NULL
              AND (e.status IS DISTINCT FROM 'completed' OR NOT m.id = ANY (e.outputs))"""
    ).fetchone()
    keys = {row["storage_key"] for row in conn.execute("SELECT storage_key FROM editroom.media")}
    stored = [path.relative_to(bucket).as_posix() for path in bucket.rglob("*") if path.is_file()]
    assert twice is not None and orphans is not None
    return {
        "duplicated": twice["n"],
        "outputs_without_edit": orphans["n"],
        "objects_without_row": sum(1 for key in stored if key not in keys),
    }


KILLED_IMAGE_EDITS = 300
KILLED_VIDEO_EDITS = 60
KILLED_EDITS = KILLED_IMAGE_EDITS + KILLED_VIDEO_EDITS


def test_runners_killed_at_random_moments_lose_and_repeat_nothing(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    disable_backoff(conn)  # a reaped edit is claimable at once
    data_dir = tmp_path / "data"
    env = editroom_env(database_url, data_dir, **QUICK)
    chance = random.Random(14)
    kills = 0
    started = time.monotonic()
    with (
        serving(env, tmp_path / "serve.log") as base_url,
        httpx.Client(base_url=base_url, timeout=30) as api,
    ):
        # Enough work that the runners are still at it after several kills and restarts (each
        # restart warms a forkserver for a second or two while the other runner works on).
        picture = upload(api, "p.png", media.image_bytes("PNG", size=(640, 480)))
        clip = upload(api, "c.mp4", small_video(tmp_path))
        made = [
            api.post("/edit", params={"media": picture, "resize": f"{200 + i}x", "rotate": "90"})
            for i in range(KILLED_IMAGE_EDITS)
        ] + [
            api.post("/edit", params={"media": clip, "trim": f"0,{0.3 + i / 100:.2f}"})
            for i in range(KILLED_VIDEO_EDITS)
        ]
        assert [response.status_code for response in made] == [202] * KILLED_EDITS
        with ExitStack() as stack:
            runners = [
                stack.enter_context(runner(env, tmp_path / f"runner-{n}.log")) for n in range(2)
            ]
            deadline = time.monotonic() + 120
            while not all_finished(conn, KILLED_EDITS) and time.monotonic() < deadline:
                victim = chance.randrange(len(runners))
                if kills >= 8 or not holding(conn, runners[victim].pid):
                    time.sleep(0.01)
                    continue
                time.sleep(chance.uniform(0.0, 0.3))  # a random moment of its work
                if not all_finished(conn, KILLED_EDITS):
                    os.killpg(runners[victim].pid, signal.SIGKILL)  # it and its children
                    runners[victim].wait()
                    kills += 1
                    runners[victim] = stack.enter_context(
                        runner(env, tmp_path / f"runner-{victim}-{kills}.log")
                    )
            eventually(
                lambda: all_finished(conn, KILLED_EDITS), timeout=60, what="every edit to end"
            )
    counts = statuses(conn)
    failed = conn.execute(
        "SELECT error FROM editroom.edits WHERE status <> 'completed' LIMIT 5"
    ).fetchall()
    checks = integrity(conn, data_dir / "bucket")
    outcomes = conn.execute(
        "SELECT coalesce(outcome::text, 'open') AS o, count(*) AS n FROM editroom.edit_attempts"
        " GROUP BY 1"
    ).fetchall()
    record(
        "runner_kills",
        {
            "edits": KILLED_EDITS,
            "kills": kills,
            "completed": counts.get("completed", 0),
            "lost": KILLED_EDITS - sum(counts.get(status, 0) for status in FINISHED),
            "attempts": {row["o"]: row["n"] for row in outcomes},
            "seconds": round(time.monotonic() - started, 1),
            **checks,
        },
    )
    assert kills >= 3, "the runners finished before the test could kill them: more edits"
    assert counts == {"completed": KILLED_EDITS}, failed
    assert checks == {"duplicated": 0, "outputs_without_edit": 0, "objects_without_row": 0}


def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def refused_politely(response: httpx.Response) -> bool:
    return response.status_code == 503 and response.headers.get("retry-after", "").isdigit()


def test_postgres_restarted_under_traffic(tmp_path: Path) -> None:
    with own_postgres() as server:
        url = server.create_database("editroom")
        migrations.upgrade(url)
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as setup:
            disable_backoff(setup)
        # Polling every 30 s: an idle runner that finishes a new edit within seconds after the
        # restart was woken by NOTIFY, so it listens again.
        env = editroom_env(url, tmp_path / "data", **{**QUICK, "lease_seconds": "15",
                                                      "poll_interval_seconds": "30"})  # fmt: skip
        with (
            serving(env, tmp_path / "serve.log") as base_url,
            runner(env, tmp_path / "runner.log"),
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            picture = upload(api, "p.png", media.image_bytes("PNG", size=(96, 64)))
            made = [
                api.post("/edit", params={"media": picture, "resize": f"{30 + i}x"}).json()["id"]
                for i in range(30)
            ]
            server.stop()
            down = [
                timed(lambda: api.get(f"/edit/{made[0]}")),
                timed(lambda: api.get("/readyz")),
                timed(lambda: api.post("/edit", params={"media": picture, "flip": "h"})),
                timed(lambda: api.get(f"/bucket/upload/{picture}")),
            ]
            time.sleep(2)
            server.start()
            back = time.monotonic()
            eventually(lambda: api.get("/readyz").status_code == 200, timeout=10, what="ready")
            api_recovery = time.monotonic() - back
            eventually(lambda: all(api.get(f"/edit/{i}").json()["status"] in FINISHED
                                   for i in made), timeout=60, what="the edits")  # fmt: skip
            idle_since = time.monotonic()
            woken = api.post("/edit", params={"media": picture, "resize": "17x"}).json()["id"]
            eventually(lambda: api.get(f"/edit/{woken}").json()["status"] == "completed",
                       timeout=20, what="the new edit")  # fmt: skip
            wake = time.monotonic() - idle_since
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
            counts = statuses(conn)
            errors = conn.execute(
                "SELECT count(*) AS n FROM editroom.edit_attempts WHERE outcome = 'error'"
            ).fetchone()
            checks = integrity(conn, tmp_path / "data" / "bucket")
    record(
        "postgres_restart",
        {
            "edits": len(made) + 1,
            "answers_while_down": [response.status_code for response, _ in down],
            "slowest_answer_while_down_seconds": round(max(s for _, s in down), 2),
            "api_recovery_seconds": round(api_recovery, 2),
            "idle_runner_woken_seconds": round(wake, 2),
            "attempts_costing_a_trial": errors["n"] if errors else None,
            "completed": counts.get("completed", 0),
            **checks,
        },
    )
    assert all(refused_politely(response) for response, _ in down), [r.text for r, _ in down]
    assert max(seconds for _, seconds in down) < 3.0
    assert api_recovery < 2.0
    assert wake < 5.0  # the poll would take 30 s
    assert counts == {"completed": len(made) + 1}
    assert checks == {"duplicated": 0, "outputs_without_edit": 0, "objects_without_row": 0}


def test_s3_cut_off_mid_traffic_fails_no_edit(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    with moto_s3() as s3, cuttable_proxy(int(s3.url.rsplit(":", 1)[1])) as proxy:
        env = editroom_env(database_url, tmp_path / "data", **QUICK,
                           **S3Endpoint(proxy.url).settings("faults"))  # fmt: skip
        with (
            serving(env, tmp_path / "serve.log") as base_url,
            runner(env, tmp_path / "runner.log"),
            httpx.Client(base_url=base_url, timeout=60) as api,
        ):
            picture = upload(api, "p.png", media.image_bytes("PNG", size=(96, 64)))
            made = [
                api.post("/edit", params={"media": picture, "resize": f"{30 + i}x"})
                for i in range(20)
            ]
            time.sleep(0.5)
            proxy.cut()
            cut_at = time.monotonic()
            another = {"file": ("q.png", media.image_bytes("PNG", size=(50, 40)))}
            during = [
                timed(lambda: api.post("/bucket/upload", files=another)),
                timed(lambda: api.get(f"/bucket/upload/{picture}/content")),
            ]
            made += [
                api.post("/edit", params={"media": picture, "resize": f"{60 + i}x"})
                for i in range(10)
            ]
            time.sleep(max(0.0, S3_OUTAGE_SECONDS - (time.monotonic() - cut_at)))
            proxy.restore()
            back = time.monotonic()
            ids = [response.json()["id"] for response in made]
            eventually(lambda: all(api.get(f"/edit/{i}").json()["status"] in FINISHED
                                   for i in ids), timeout=60, what="the edits")  # fmt: skip
            recovered = time.monotonic() - back
    counts = statuses(conn)
    outcomes = conn.execute(
        "SELECT outcome::text AS o, count(*) AS n FROM editroom.edit_attempts GROUP BY 1"
    ).fetchall()
    attempts = {row["o"]: row["n"] for row in outcomes}
    record(
        "s3_outage",
        {
            "edits": len(made),
            "outage_seconds": S3_OUTAGE_SECONDS,
            "answers_while_down": [response.status_code for response, _ in during],
            "slowest_answer_while_down_seconds": round(max(s for _, s in during), 2),
            "all_done_after_return_seconds": round(recovered, 2),
            "attempts": attempts,
            "completed": counts.get("completed", 0),
        },
    )
    assert all(refused_politely(response) for response, _ in during), [r.text for r, _ in during]
    assert counts == {"completed": len(made)}
    assert "error" not in attempts and "failed" not in attempts  # no trial spent on the outage


@contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """A real filesystem of `size` (tmpfs), so a write past it fails with ENOSPC."""
    path.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs here (needs root): {mounted.stderr.decode().strip()}"
        if REQUIRE_ALL:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def test_work_disk_full_mid_video_edit_is_retried_cleanly(
    conn: Conn, database_url: str, tmp_path: Path
) -> None:
    conn.execute(
        sql.SQL("ALTER DATABASE {} SET editroom.backoff_base_seconds = 1").format(
            sql.Identifier(conn.info.dbname)
        )
    )
    clip = small_video(tmp_path, size=(320, 240), seconds=3.0, fps=24)
    with small_filesystem(tmp_path / "work", "64k") as work:
        env = editroom_env(database_url, tmp_path / "data", **QUICK, work_dir=str(work))
        with (
            runner(env, tmp_path / "runner.log"),  # starting while `serving` waits for the API
            serving(env, tmp_path / "serve.log") as base_url,
            httpx.Client(base_url=base_url, timeout=30) as api,
        ):
            assert len(clip) > 64 * 1024  # its copy cannot fit
            video = upload(api, "big.mp4", clip)
            picture = upload(api, "p.png", media.image_bytes("PNG", size=(64, 48)))
            edit_id = api.post("/edit", params={"media": video, "format": "mkv"}).json()["id"]
            first = eventually(
                lambda: conn.execute(
                    "SELECT * FROM editroom.edit_attempts WHERE edit_id = %s AND outcome IS NOT"
                    " NULL ORDER BY trial LIMIT 1", [edit_id]
                ).fetchone(),
                timeout=30, what="the first attempt to end",
            )  # fmt: skip
            left_behind = attempts_left(work)
            small = api.post("/edit", params={"media": picture, "flip": "h", "wait": "20"})
            subprocess.run(["mount", "-o", "remount,size=64m", str(work)], check=True)
            freed = time.monotonic()
            done = eventually(
                lambda: api.get(f"/edit/{edit_id}").json()["status"] in FINISHED
                and api.get(f"/edit/{edit_id}").json(),
                timeout=30, what="the retry",
            )  # fmt: skip
            retried_after = time.monotonic() - freed
            after = attempts_left(work)
    record(
        "work_disk_full",
        {
            "first_attempt": f"{first['outcome']}: {first['error']}",
            "temp_files_left": len(left_behind) + len(after),
            "other_edit_meanwhile": small.json()["status"],
            "final_status": done["status"],
            "trials": done["trial"],
            "completed_after_space_freed_seconds": round(retried_after, 2),
        },
    )
    assert first["outcome"] == "error" and "No space left on device" in first["error"]
    assert left_behind == [] and after == []
    assert small.json()["status"] == "completed"
    assert done["status"] == "completed" and done["outputs"]


def test_flood_of_edits_meets_back_pressure_and_reads_stay_quick(
    database_url: str, tmp_path: Path
) -> None:
    limit, clients, each = 300, 20, 100
    env = editroom_env(database_url, tmp_path / "data", max_queued=str(limit))
    answers: list[httpx.Response] = []
    reads: list[float] = []
    lock = threading.Lock()
    with (
        serving(env, tmp_path / "serve.log") as base_url,
        httpx.Client(base_url=base_url, timeout=30) as api,
    ):
        picture = upload(api, "p.png", media.image_bytes("PNG", size=(64, 48)))
        probe_edit = api.post("/edit", params={"media": picture, "flip": "v"}).json()["id"]
        flooding = threading.Event()

        def client(number: int) -> None:
            with httpx.Client(base_url=base_url, timeout=30) as own:
                mine = [
                    own.post(
                        "/edit", params={"media": picture, "resize": f"{10 + i}x{number + 10}"}
                    )
                    for i in range(each)
                ]
            with lock:
                answers.extend(mine)

        def reader() -> None:
            with httpx.Client(base_url=base_url, timeout=30) as own:
                while flooding.is_set():
                    response, seconds = timed(lambda: own.get(f"/edit/{probe_edit}"))
                    assert response.status_code == 200
                    reads.append(seconds)

        flooding.set()
        watcher = threading.Thread(target=reader)
        watcher.start()
        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.monotonic() - started
        flooding.clear()
        watcher.join()
    accepted = sum(1 for r in answers if r.status_code == 202)
    refused = [r for r in answers if r.status_code == 429]
    reads.sort()
    p99 = reads[int(len(reads) * 0.99) - 1]
    record(
        "flood",
        {
            "edits_asked": clients * each,
            "clients": clients,
            "max_queued": limit,
            "accepted": accepted,
            "refused_429": len(refused),
            "server_errors": sum(1 for r in answers if r.status_code >= 500),
            "asked_per_second": round(clients * each / seconds),
            "read_p99_seconds": round(p99, 3),
            "reads": len(reads),
        },
    )
    assert accepted + len(refused) == clients * each
    # The count and the insert are not one transaction: concurrent requests may pass together.
    assert limit - 1 <= accepted <= limit + clients
    assert all(r.headers.get("retry-after", "").isdigit() for r in refused)
    assert "EDITROOM_MAX_QUEUED" in refused[0].json()["detail"]
    assert p99 < READ_P99_BOUND_SECONDS
