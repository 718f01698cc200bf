"""Run every benchmark, print a markdown report, and keep a copy in bench/out/."""

import asyncio
import time
from pathlib import Path

from bench import images, queue
from bench.harness import bench_database, machine

OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    sections = [f"## editroom benchmarks, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
                "", f"Machine: {machine()}", ""]  # fmt: skip
    with bench_database() as url:
        sections.append(asyncio.run(queue.run(url)).markdown())
        sections.extend(report.markdown() for report in images.run(url))
    text = "\n".join(sections)
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / "latest.md").write_text(text)


if __name__ == "__main__":
    main()
