"""The queue, end to end: no-op edits per second with 1, 2 and 4 runner processes, and how
soon an idle runner woken by NOTIFY starts an edit; beside procrastinate doing the same on
the same PostgreSQL server in the same run.

Edits are enqueued in batches of ENQUEUE_BATCH, one statement each (editroom.enqueue_edits;
procrastinate's batch_defer_async), and timing starts once the runners are started and idle
(harness.wait_until_settled: a runner's forkserver spends seconds of CPU importing and
rehearsing after the runner first listens)."""

import asyncio
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg.rows import dict_row

from bench.harness import Report, percentile, processes, python_module, wait_until_settled

EDITS = 4000
ENQUEUE_BATCH = 100
RUNNER_COUNTS = (1, 2, 4)
CONCURRENCY = 10
LATENCY_SAMPLES = 200
START_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 600.0
IDLE_GAP_SECONDS = (0.02, 0.05)  # between latency samples, so the runner is idle again
POLL_SECONDS = 0.005
GOAL_EDITS_PER_SECOND = 5000  # with 4 runners
GOAL_WAKE_P99_MS = 2.0

Conn = psycopg.AsyncConnection[dict[str, Any]]
REPO = Path(__file__).resolve().parent.parent


class Queue(Protocol):
    name: str

    def runner(self) -> list[str]: ...
    async def listening(self, conn: Conn) -> int: ...
    async def reset(self, conn: Conn) -> None: ...
    async def enqueue(self, conn: Conn, count: int) -> None: ...
    async def finished(self, conn: Conn) -> int: ...
    async def latencies_ms(self, conn: Conn) -> list[float]: ...


async def scalar(conn: Conn, query: str, *params: Any) -> Any:
    cursor = await conn.execute(query.encode(), params or None)
    row = await cursor.fetchone()
    assert row is not None
    return next(iter(row.values()))


class Editroom:
    name = "editroom"

    def __init__(self, conn: Conn) -> None:
        self._media: Any = None
        self._conn = conn

    def runner(self) -> list[str]:
        return python_module("service", "runner", "--concurrency", str(CONCURRENCY))

    async def listening(self, conn: Conn) -> int:
        return int(await scalar(conn, LISTENERS_LIKE, 'LISTEN "editroom_queue"%'))

    async def reset(self, conn: Conn) -> None:
        # The media go too (a media row names the edit it came from, a plain id since edit
        # history): make one again.
        await conn.execute("TRUNCATE editroom.edits, editroom.media CASCADE")
        self._media = await scalar(
            conn,
            "INSERT INTO editroom.media (kind, content_type, size_bytes, sha256, storage_key) "
            "VALUES ('image', 'image/png', 0, encode(sha256('bench'), 'hex'), 'bench') "
            "RETURNING id",
        )

    async def enqueue(self, conn: Conn, count: int) -> None:
        # One statement per batch, as procrastinate's batch_defer_async sends one.
        await conn.execute(
            "SELECT 1 FROM editroom.enqueue_edits(array_fill(%s::uuid, ARRAY[%s]), '[]')",
            [self._media, count],
        )

    async def finished(self, conn: Conn) -> int:
        return int(
            await scalar(
                conn, "SELECT count FROM editroom.status_counts() WHERE status = 'completed'"
            )
        )

    async def latencies_ms(self, conn: Conn) -> list[float]:
        cursor = await conn.execute(
            "SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM editroom.edits"
        )
        return [float(row["ms"]) for row in await cursor.fetchall()]


class Procrastinate:
    name = "procrastinate"

    def __init__(self, url: str) -> None:
        os.environ["PROCRASTINATE_DSN"] = url
        from bench.procrastinate_app import app, noop

        self._app = app
        self._task = noop

    def runner(self) -> list[str]:
        return [
            sys.executable, "-m", "procrastinate", "--app=bench.procrastinate_app.app",
            "worker", "--concurrency", str(CONCURRENCY),
        ]  # fmt: skip

    async def listening(self, conn: Conn) -> int:
        return int(await scalar(conn, LISTENERS_LIKE, "LISTEN%procrastinate%"))

    async def reset(self, conn: Conn) -> None:
        await conn.execute("TRUNCATE procrastinate_jobs CASCADE")

    async def enqueue(self, conn: Conn, count: int) -> None:
        await self._task.batch_defer_async(*([{}] * count))

    async def finished(self, conn: Conn) -> int:
        return int(
            await scalar(conn, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'")
        )

    async def latencies_ms(self, conn: Conn) -> list[float]:
        cursor = await conn.execute(
            """SELECT extract(epoch FROM s.at - d.at) * 1000 AS ms
                 FROM procrastinate_events d
                 JOIN procrastinate_events s ON s.job_id = d.job_id AND s.type = 'started'
                WHERE d.type = 'deferred'"""
        )
        return [float(row["ms"]) for row in await cursor.fetchall()]


class Bare:
    """The floor: one table, a NOTIFY in the enqueue's statement, and bench/bare_runner.py
    starting each job with one UPDATE. Wake-up only (it has no rate to compare)."""

    name = "bare LISTEN/NOTIFY"

    def runner(self) -> list[str]:
        return python_module("bench.bare_runner")

    async def listening(self, conn: Conn) -> int:
        return int(await scalar(conn, LISTENERS_LIKE, "LISTEN bench_wake%"))

    async def reset(self, conn: Conn) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_wake (id serial PRIMARY KEY, "
            "created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz)"
        )
        await conn.execute("TRUNCATE bench_wake")

    async def enqueue(self, conn: Conn, count: int) -> None:
        await conn.execute(
            "WITH j AS (INSERT INTO bench_wake (created_at) SELECT now() "
            "FROM generate_series(1, %s) RETURNING 1) "
            "SELECT pg_notify('bench_wake', count(*)::text) FROM j",
            [count],
        )

    async def finished(self, conn: Conn) -> int:
        return int(
            await scalar(conn, "SELECT count(*) FROM bench_wake WHERE started_at IS NOT NULL")
        )

    async def latencies_ms(self, conn: Conn) -> list[float]:
        cursor = await conn.execute(
            "SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM bench_wake"
        )
        return [float(row["ms"]) for row in await cursor.fetchall()]


LISTENERS_LIKE = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE %s"
)


async def wait_for(check: Callable[[], Awaitable[bool]], seconds: float) -> None:
    async with asyncio.timeout(seconds):
        while not await check():
            await asyncio.sleep(POLL_SECONDS)


async def rate(queue: Queue, conn: Conn, env: dict[str, str], runners: int) -> float:
    """No-op edits per second, enqueue of the first to completion of the last."""
    await queue.reset(conn)
    with processes([queue.runner()] * runners, env) as sessions:
        await wait_for(lambda: _at_least(queue.listening(conn), runners), START_TIMEOUT_SECONDS)
        await asyncio.to_thread(wait_until_settled, sessions)
        started = time.perf_counter()
        for _ in range(EDITS // ENQUEUE_BATCH):
            await queue.enqueue(conn, ENQUEUE_BATCH)
        await wait_for(lambda: _at_least(queue.finished(conn), EDITS), DRAIN_TIMEOUT_SECONDS)
        return EDITS / (time.perf_counter() - started)


async def wake_latencies(queue: Queue, conn: Conn, env: dict[str, str]) -> list[float]:
    """Milliseconds from enqueue to start, one idle runner, one edit at a time."""
    await queue.reset(conn)
    with processes([queue.runner()], env) as sessions:
        await wait_for(lambda: _at_least(queue.listening(conn), 1), START_TIMEOUT_SECONDS)
        await asyncio.to_thread(wait_until_settled, sessions)
        for done in range(1, LATENCY_SAMPLES + 1):
            await asyncio.sleep(random.uniform(*IDLE_GAP_SECONDS))
            await queue.enqueue(conn, 1)
            await wait_for(lambda n=done: _at_least(queue.finished(conn), n), 10)  # type: ignore[misc]
    return await queue.latencies_ms(conn)


async def _at_least(count: Awaitable[int], target: int) -> bool:
    return await count >= target


async def run(url: str) -> Report:
    env = {**os.environ, "DATABASE_URL": url, "PROCRASTINATE_DSN": url, "PYTHONPATH": str(REPO)}
    report = Report("Queue: no-op edits end to end", "procrastinate")
    async with await psycopg.AsyncConnection.connect(
        url, autocommit=True, row_factory=dict_row
    ) as conn:
        peer = Procrastinate(url)
        async with peer._app.open_async():
            await peer._app.schema_manager.apply_schema_async()
            ours: Queue = Editroom(conn)
            for runners in RUNNER_COUNTS:
                mine, theirs = (
                    await rate(ours, conn, env, runners),
                    await rate(peer, conn, env, runners),
                )
                ratio = report.add(
                    f"edits/s, {runners} runner process(es), concurrency {CONCURRENCY} each",
                    mine, theirs, higher_is_better=True,
                )  # fmt: skip
            report.goal(
                f"4 runners at least 2x procrastinate's rate (got {ratio:.2f}x)", ratio >= 2
            )
            report.goal(
                f"at least {GOAL_EDITS_PER_SECOND:,} edits/s with 4 runners (got {mine:,.0f})",
                mine >= GOAL_EDITS_PER_SECOND,
            )
            mine_ms, theirs_ms, floor_ms = (
                await wake_latencies(ours, conn, env),
                await wake_latencies(peer, conn, env),
                await wake_latencies(Bare(), conn, env),
            )
    for p in (50, 99):
        report.add(
            f"enqueue to start, idle runner, p{p} (ms)",
            percentile(mine_ms, p), percentile(theirs_ms, p), higher_is_better=False,
        )  # fmt: skip
    p99, floor_p50, floor_p99 = (
        percentile(mine_ms, 99), percentile(floor_ms, 50), percentile(floor_ms, 99)
    )  # fmt: skip
    report.goal(
        f"idle runner starts an edit within {GOAL_WAKE_P99_MS:g} ms at p99 (got {p99:.1f} ms; "
        f"the floor on this server, below, {floor_p99:.1f} ms)",
        p99 < GOAL_WAKE_P99_MS,
    )
    report.notes.append(
        f"the floor, measured the same way in this run: a bare process that LISTENs and starts "
        f"each job with one UPDATE (bench/bare_runner.py), the job inserted with its NOTIFY in "
        f"one durable statement: {floor_p50:.1f} ms at p50, {floor_p99:.1f} ms at p99. Enqueue "
        "to start is the enqueue's own commit (created_at is stamped at its start; NOTIFY is "
        "delivered once its WAL is flushed), the notification, and two processes woken from "
        "idle (the runner, then the backend it claims on); no queue on this server does better"
    )
    return report
