"""The queue in SQL alone, as a DBA would drive it with pgbench: each connection loops
enqueue -> claim -> complete through the SQL API (editroom.enqueue_edit, claim_edits,
complete_edits), counting lifecycles per second, beside procrastinate's own SQL procedures
doing defer -> fetch -> finish at the same connection counts in the same run.

Durability as in production, the same for both: the enqueue and the completion commit
durably, the claim does not (runners claim in sessions with synchronous_commit off; a claim
lost in a crash is reaped by its lease). Each lifecycle thus costs two WAL flushes, so the
run also measures the server's ceiling for them: durable one-row INSERT commits per second
at the same connection counts (and with a NOTIFY each, the ceiling editroom stays under by
notifying only while someone waits: no runner and no subscriber watches here). While each run
goes, pg_stat_activity is sampled and the wait events of the active connections are printed,
so a DBA sees where the time goes (CPU means active and waiting on nothing: running, or
waiting for a core)."""

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.harness import Report
from service.kernel.embedded import client_binary

CONNECTIONS = (8, 32)
SECONDS = 8
SAMPLE_EVERY_SECONDS = 0.01
TOP_WAITS = 6
GOAL_LIFECYCLES_PER_SECOND = 2000

BATCHES = (1, 10)  # edits enqueued (one transaction each) before a claim of that many

ENQUEUE = "SELECT e.id FROM editroom.enqueue_edit(:media::uuid, '[]') AS e;\n"
CLAIM_AND_COMPLETE = """\
SELECT count(*) AS claimed,
       coalesce(jsonb_object_agg(e.id, '[]'::jsonb), '{{}}') AS results,
       coalesce(jsonb_object_agg(e.id, e.trial), '{{}}') AS trials
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s,
       editroom.claim_edits('bench-' || :client_id::text, {batch}) AS e \\gset
\\if :claimed > 0
SELECT count(*) FROM editroom.complete_edits('bench-' || :client_id::text,
                                             :results::jsonb, :trials::jsonb);
\\endif
"""

DEFER = """\
SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('default', 'noop', 0, NULL, NULL, '{}', NULL)
                                         ::procrastinate_job_to_defer_v1]);
"""
# procrastinate fetches one job per call, as its workers do.
FETCH_AND_FINISH = """\
SELECT coalesce(j.id, 0) AS job
  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s,
       procrastinate_fetch_job_v2(NULL, :worker) AS j \\gset
\\if :job > 0
SELECT procrastinate_finish_job_v1(:job, 'succeeded', false);
\\endif
"""


def editroom_script(batch: int) -> str:
    return ENQUEUE * batch + CLAIM_AND_COMPLETE.format(batch=batch)


def procrastinate_script(batch: int) -> str:
    return DEFER * batch + FETCH_AND_FINISH * batch


COMMIT_SCRIPT = "INSERT INTO bench_commits VALUES (:client_id);\n"
NOTIFYING_COMMIT_SCRIPT = (
    "WITH i AS (INSERT INTO bench_commits VALUES (:client_id) RETURNING 1) "
    "SELECT pg_notify('bench_commits', '') FROM i;\n"
)

# Media rows name the edit they came from, so emptying edits empties media: make it again.
MEDIA_ID = "00000000-0000-4000-8000-00000000be9c"
MEDIA = (
    "INSERT INTO editroom.media (id, kind, content_type, size_bytes, sha256, storage_key) "
    f"VALUES ('{MEDIA_ID}', 'image', 'image/png', 0, encode(sha256('bench'), 'hex'), 'bench')"
)

WAITS = """\
SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
  FROM pg_stat_activity
 WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
   AND backend_type = 'client backend'"""


@dataclass
class Script:
    name: str
    text: str
    finished: str  # how many have gone through so far
    reset: str
    variables: dict[str, str]


def pgbench() -> Path:
    shipped = client_binary("pgbench")
    if shipped.exists():
        return shipped
    found = shutil.which("pgbench") or next(
        (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
    )
    if found is None:
        raise RuntimeError("no pgbench: the pgserver wheel ships one; is it installed?")
    return Path(found)


@contextmanager
def sampled_waits(url: str) -> Iterator[Counter[str]]:
    """Counts the wait events of the database's active connections, every
    SAMPLE_EVERY_SECONDS, for as long as the block runs."""
    counts: Counter[str] = Counter()
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.wait(SAMPLE_EVERY_SECONDS):
                counts.update(row[0] for row in conn.execute(WAITS.encode()).fetchall())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield counts
    finally:
        stop.set()
        sampler.join()


def summary(counts: Counter[str]) -> str:
    total = sum(counts.values()) or 1
    return ", ".join(f"{event} {n / total:.0%}" for event, n in counts.most_common(TOP_WAITS))


def per_second(
    url: str, script: Script, connections: int, notes: list[str], how: str = ""
) -> float:
    """Runs the script on `connections` pgbench clients for SECONDS; how many went through
    per second. Notes the wait events seen meanwhile."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(script.reset.encode())
        conn.execute(b"CHECKPOINT")  # no checkpoint of the run before weighs on this one
        before = int(conn.execute(script.finished.encode()).fetchone()[0])  # type: ignore[index]
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script.text)
        file.flush()
        variables = [f"--define={k}={v}" for k, v in script.variables.items()]
        command = [str(pgbench()), "--no-vacuum", "--protocol=prepared",
                   f"--client={connections}", "--jobs=2", f"--time={SECONDS}",
                   *variables, f"--file={file.name}", url]  # fmt: skip
        with sampled_waits(url) as waits:
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True)
            elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"pgbench running {script.name} failed: {done.stderr}")
    with psycopg.connect(url, autocommit=True) as conn:
        after = int(conn.execute(script.finished.encode()).fetchone()[0])  # type: ignore[index]
    run = ", ".join(filter(None, [script.name, f"{connections} connections", how]))
    notes.append(f"{run}, waits: {summary(waits)}")
    return (after - before) / elapsed


def prepare(url: str) -> dict[str, str]:
    """The variables the scripts need; the peer's schema and the commit table made."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute(b"SELECT to_regclass('procrastinate_jobs')").fetchone() == (None,):
            _apply_procrastinate_schema(url)
        conn.execute(b"CREATE TABLE IF NOT EXISTS bench_commits (client integer)")
        worker = conn.execute(b"SELECT procrastinate_register_worker_v1()").fetchone()[0]  # type: ignore[index]
    return {"media": MEDIA_ID, "worker": str(worker)}


def ours(batch: int, variables: dict[str, str]) -> Script:
    return Script(
        "editroom", editroom_script(batch),
        finished="SELECT count FROM editroom.status_counts() WHERE status = 'completed'",
        reset=f"TRUNCATE editroom.edits, editroom.media CASCADE; {MEDIA}",
        variables={"media": variables["media"]},
    )  # fmt: skip


def theirs(batch: int, variables: dict[str, str]) -> Script:
    return Script(
        "procrastinate", procrastinate_script(batch),
        finished="SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
        reset="TRUNCATE procrastinate_jobs CASCADE", variables={"worker": variables["worker"]},
    )  # fmt: skip


def commits(text: str, name: str) -> Script:
    return Script(name, text, finished="SELECT count(*) FROM bench_commits",
                  reset="TRUNCATE bench_commits", variables={})  # fmt: skip


def _apply_procrastinate_schema(url: str) -> None:
    os.environ["PROCRASTINATE_DSN"] = url
    from bench.procrastinate_app import app

    with app.open():
        app.schema_manager.apply_schema()


def run(url: str) -> Report:
    report = Report("Queue: SQL lifecycles (enqueue, claim, complete), pgbench", "procrastinate")
    notes: list[str] = []
    variables = prepare(url)
    plain = commits(COMMIT_SCRIPT, "durable one-row INSERT commits")
    notifying = commits(NOTIFYING_COMMIT_SCRIPT, "the same commits with a NOTIFY")
    best: dict[int, float] = {}
    for connections in CONNECTIONS:
        for batch in BATCHES:
            how = "one at a time" if batch == 1 else f"claimed and completed {batch} at a time"
            mine = per_second(url, ours(batch, variables), connections, notes, how)
            peer = per_second(url, theirs(batch, variables), connections, notes, how)
            report.add(f"lifecycles/s, {connections} connections, {how}", mine, peer,
                       higher_is_better=True)  # fmt: skip
            best[connections] = max(best.get(connections, 0.0), mine)
        ceiling = per_second(url, plain, connections, notes)
        notifying_ceiling = per_second(url, notifying, connections, notes)
        notes.append(
            f"ceilings at {connections} connections: {ceiling:,.0f} durable commits/s; "
            f"{notifying_ceiling:,.0f}/s when each also NOTIFYs (PostgreSQL holds one "
            f"cluster-wide lock from a notifying commit's start until its WAL is flushed). "
            f"An edit's enqueue and its completion are durable; were both to notify, one at "
            f"a time would reach at most {notifying_ceiling / 2:,.0f} lifecycles/s. They "
            f"notify only while a runner or a subscriber waits (wake slots, "
            f"db/functions/040_edit_triggers.sql): here no one does, so the ceiling is the "
            f"durable one, {ceiling / 2:,.0f} lifecycles/s one at a time"
        )
    top = CONNECTIONS[-1]
    report.goal(
        f"at least {GOAL_LIFECYCLES_PER_SECOND:,} lifecycles/s at {top} connections "
        f"(got {best[top]:,.0f})",
        best[top] >= GOAL_LIFECYCLES_PER_SECOND,
    )
    report.notes.extend(notes)
    return report
