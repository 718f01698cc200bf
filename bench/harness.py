"""What every benchmark needs: a PostgreSQL, processes to start and stop, and a report."""

import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from service.kernel import migrations
from service.kernel.embedded import embedded_postgres

PROCESS_STOP_TIMEOUT_SECONDS = 30.0
START_TIMEOUT_SECONDS = 60.0
SETTLE_WINDOW_SECONDS = 0.5
SETTLED_CPU_SHARE = 0.05  # of one core, for all the processes started together
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@contextmanager
def bench_database() -> Iterator[str]:
    """A migrated database of its own, on DATABASE_URL's server or an embedded one."""
    server_url = os.environ.get("DATABASE_URL")
    if server_url:
        yield from _fresh_database(server_url)
        return
    with (
        tempfile.TemporaryDirectory(prefix="editroom-bench-") as data_dir,
        embedded_postgres(Path(data_dir), cleanup="delete") as embedded_url,
    ):
        yield from _fresh_database(embedded_url)


def _fresh_database(server_url: str) -> Iterator[str]:
    name = f"editroom_bench_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = psycopg.conninfo.make_conninfo(server_url, dbname=name)
    try:
        migrations.upgrade(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def processes(commands: list[list[str]], env: dict[str, str]) -> Iterator[list[int]]:
    """Run each command in its own session; SIGTERM (then SIGKILL) them all on the way out.
    Yields their pids, which are also their sessions' ids (see wait_until_settled)."""
    started = [
        subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for command in commands
    ]
    try:
        yield [process.pid for process in started]
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(PROCESS_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until_settled(sessions: list[int], *, seconds: float = START_TIMEOUT_SECONDS) -> None:
    """Block until the processes of these sessions (a process the bench started, and every
    one it started: a runner's forkserver and sandbox children) use less than
    SETTLED_CPU_SHARE of a core over SETTLE_WINDOW_SECONDS: started and idle, so what is
    measured next is their work, not the end of their start (a runner's forkserver imports
    every engine and rehearses each format, seconds of CPU after it listens). A process that
    ends within a window counts what it used until it was last seen."""
    deadline = time.monotonic() + seconds
    used = _session_cpu_seconds(sessions)
    while time.monotonic() < deadline:
        time.sleep(SETTLE_WINDOW_SECONDS)
        now = _session_cpu_seconds(sessions)
        spent = sum(max(0.0, now.get(pid, 0.0) - before) for pid, before in used.items())
        spent += sum(cpu for pid, cpu in now.items() if pid not in used)
        if spent < SETTLED_CPU_SHARE * SETTLE_WINDOW_SECONDS:
            return
        used = now
    raise RuntimeError(f"the processes started were still busy after {seconds:.0f} s")


def _session_cpu_seconds(sessions: list[int]) -> dict[int, float]:
    """CPU seconds used so far by each process of these sessions, by pid."""
    wanted = set(sessions)
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended meanwhile
            continue
        if int(fields[3]) in wanted:  # the session id; then utime and stime
            used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return used


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_answers(url: str, *, seconds: float = START_TIMEOUT_SECONDS) -> None:
    """Block until `url` answers 200; a server the bench started has come up."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds:.0f} s")
        time.sleep(0.05)


def editroom_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """An editroom process's environment: this database, these files, default settings
    except those given (without the EDITROOM_ prefix)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITROOM_")}
    env.update(DATABASE_URL=database_url, EDITROOM_DATA_DIR=str(data_dir))
    env.update({f"EDITROOM_{name.upper()}": value for name, value in settings.items()})
    return env


def percentile(values: list[float], percent: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def machine() -> str:
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, "
        f"{memory_kib / 1024 / 1024:.0f} GiB, Python {platform.python_version()}"
    )


@dataclass
class Report:
    title: str
    peer: str
    rows: list[tuple[str, float, float, str]] = field(default_factory=list)
    goals: list[tuple[str, bool]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a reader needs beside the numbers

    def add(self, measure: str, ours: float, theirs: float, *, higher_is_better: bool) -> float:
        ratio = ours / theirs if higher_is_better else theirs / ours
        self.rows.append((measure, ours, theirs, f"{ratio:.2f}x"))
        return ratio

    def goal(self, description: str, met: bool) -> None:
        self.goals.append((description, met))

    def markdown(self) -> str:
        lines = [
            f"### {self.title}",
            "",
            f"| measure | editroom | {self.peer} | editroom's advantage |",
            "|---|---:|---:|---:|",
            *(
                f"| {m} | {ours:,.1f} | {theirs:,.1f} | {ratio} |"
                for m, ours, theirs, ratio in self.rows
            ),
            "",
            *(f"- {'met' if met else 'NOT MET'}: {goal}" for goal, met in self.goals),
            *(["", *(f"- {note}" for note in self.notes)] if self.notes else []),
        ]
        return "\n".join(lines) + "\n"
