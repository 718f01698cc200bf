"""The floor for waking an idle runner on this server: a process that LISTENs and, told of a
job, starts it with one UPDATE on a second connection. No queue logic, no framework, no
event loop: what is left is PostgreSQL and the operating system (the enqueue's commit, the
notification, two processes woken from idle).

`python -m bench.bare_runner` with DATABASE_URL set; bench/queue.py's Bare drives it."""

import os

import psycopg

CHANNEL = "bench_wake"


def main(url: str) -> None:
    with (
        psycopg.connect(url, autocommit=True) as listening,
        psycopg.connect(url, autocommit=True, options="-c synchronous_commit=off") as working,
    ):
        listening.execute(f"LISTEN {CHANNEL}")
        for _ in listening.notifies():
            working.execute("UPDATE bench_wake SET started_at = now() WHERE started_at IS NULL")


if __name__ == "__main__":
    main(os.environ["DATABASE_URL"])
