"""Run the benchmarks, print one markdown report, and keep a copy in bench/out/latest.md.

`python -m bench` runs them all; `python -m bench images video` (make bench
BENCH_ARGS="images video") only those named."""

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import images, lifecycle, queue, uploads, video
from bench.harness import Report, bench_database, machine

OUT = Path(__file__).resolve().parent / "out"
# Each takes the URL of a migrated database of its own.
BENCHMARKS: dict[str, Callable[[str], list[Report]]] = {
    "queue": lambda url: [asyncio.run(queue.run(url)), lifecycle.run(url)],
    "images": images.run,
    "uploads": lambda url: [uploads.run(url)],
    "video": lambda url: video.run(),
}


def main(names: list[str]) -> None:
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"no benchmark {', '.join(sorted(unknown))}; there are {list(BENCHMARKS)}")
    sections = [f"## editroom benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
                "", f"Machine: {machine()}", ""]  # fmt: skip
    with bench_database() as url:
        for name, benchmark in BENCHMARKS.items():
            if names and name not in names:
                continue
            started = time.monotonic()
            print(f"bench: {name}...", file=sys.stderr, flush=True)
            sections.extend(report.markdown() for report in benchmark(url))
            print(f"bench: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr)
    text = "\n".join(sections)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "latest.md").write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:])
