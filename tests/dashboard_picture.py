"""`python -m tests.dashboard_picture docs/dashboard.png`: the README's picture of the
"editroom queue" dashboard, drawn from real data. It starts the monitoring stack (embedded
PostgreSQL, the API, two runners, postgres_exporter, Prometheus), makes a few minutes of real
uploads and edits (a burst of large pictures, some that run out of time, some cancelled, small
ones repeated) with a live event stream open, then runs every panel's queries over that time
through Prometheus and draws them with Pillow. Nothing is made up: each line is a query_range
answer."""

import io
import math
import re
import shutil
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx2 as httpx
from PIL import Image, ImageDraw, ImageFont

from service.kernel import migrations
from service.kernel.embedded import embedded_postgres, ensure_database
from tests import media
from tests.monitoring import dashboard, start_stack

WORK_SECONDS = 240.0
STEP_SECONDS = 5
CELL = 20  # pixels per Grafana grid unit of height
WIDTH = 1600
COLOURS = ["#7eb26d", "#eab839", "#6ed0e0", "#ef843c", "#e24d42", "#1f78c1", "#ba43a9", "#705da0"]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def workload(api: httpx.Client, stop: threading.Event) -> None:
    """Small edits and uploads all along (after 50 seconds the small edits repeat: identical
    edits, reused); a burst of heavy edits, more than the runners can take, in the middle;
    now and then one cancelled."""

    def upload(content: bytes) -> str:
        return str(api.post("/bucket/upload", content=content).json()["id"])

    small = [upload(media.image_bytes("PNG", size=(320 + i, 240))) for i in range(4)]
    big = [upload(png(media.gradient(3000, 2000).rotate(angle))) for angle in (0, 90, 180)]
    started, tick = time.monotonic(), 0
    while not stop.wait(1.0):
        tick += 1
        elapsed = time.monotonic() - started
        edit = {"media": small[tick % 4], "resize": f"{100 + tick % 50}x", "format": "webp"}
        api.post("/edit", params=edit)
        if tick % 3 == 0:
            upload(media.image_bytes("JPEG", size=(200 + tick, 150)))
        if WORK_SECONDS * 0.25 < elapsed < WORK_SECONDS * 0.45:
            for media_id in big[: 1 + tick % 2]:
                api.post("/edit", params={"media": media_id, "rotate": "17", "format": "avif"})
        if tick % 20 == 0:
            api.delete(api.post("/edit", params={"media": small[0], "flip": "h"}).json()["url"])


def follower(api: httpx.Client, stop: threading.Event) -> None:
    """A page open on the queue for the whole run: one live event stream, read throughout."""
    with api.stream("GET", "/events", timeout=None) as response:
        for _ in response.iter_lines():
            if stop.is_set():
                return


def png(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def series(prometheus: httpx.Client, expr: str, start: float, end: float) -> list[dict[str, Any]]:
    response = prometheus.get(
        "/api/v1/query_range",
        params={"query": expr, "start": start, "end": end, "step": STEP_SECONDS},
    )
    body = response.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def legend(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), template).strip()


def formatted(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    if unit == "percentunit":
        return f"{value * 100:.0f}%"
    if unit in {"bytes", "Bps"}:
        for prefix in ("", "Ki", "Mi", "Gi"):
            if value < 1024 or prefix == "Gi":
                return f"{value:.0f} {prefix}B" + ("/s" if unit == "Bps" else "")
            value /= 1024
    if unit in {"ops", "reqps"}:
        return f"{value:.2g}/s"
    return f"{value:.3g}"


Line = tuple[str, list[tuple[float, float]]]  # legend, (unix time, value) points


def draw_panel(
    canvas: ImageDraw.ImageDraw, box: tuple[int, int, int, int], panel: dict[str, Any],
    lines: list[Line], span: tuple[float, float], font: Font,
) -> None:  # fmt: skip
    left, top, right, bottom = box
    canvas.rectangle(box, fill="#181b1f", outline="#2c3235")
    canvas.text((left + 10, top + 8), panel["title"], fill="#d8d9da", font=font)
    plot = (left + 70, top + 32, right - 12, bottom - 46)
    stacked = panel["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"] == "normal"
    bands = _stacked(lines) if stacked else [(n, [(t, 0.0, v) for t, v in p]) for n, p in lines]
    highest = max([v for _, points in bands for _, _, v in points] + [0.0])
    top_value = highest * 1.1 if highest > 0 else 1.0
    unit = panel["fieldConfig"]["defaults"]["unit"]
    for i in range(5):
        y = plot[3] - (plot[3] - plot[1]) * i / 4
        canvas.line((plot[0], y, plot[2], y), fill="#2c3235")
        canvas.text(
            (left + 6, y - 7), formatted(top_value * i / 4, unit), fill="#8e8e8e", font=font
        )
    start, end = span

    def at(t: float, v: float) -> tuple[float, float]:
        return (plot[0] + (plot[2] - plot[0]) * (t - start) / (end - start),
                plot[3] - (plot[3] - plot[1]) * v / top_value)  # fmt: skip

    for minute in range(int((end - start) // 60) + 1):
        canvas.text((at(start + 60 * minute, 0)[0] - 8, plot[3] + 4), f"{minute}m",
                    fill="#8e8e8e", font=font)  # fmt: skip
    legend_x = left + 10
    for index, (name, points) in enumerate(bands):
        colour = COLOURS[index % len(COLOURS)]
        upper = [at(t, high) for t, _, high in points]
        if stacked and len(points) > 1:
            lower = [at(t, low) for t, low, _ in points]
            canvas.polygon(upper + lower[::-1], fill=colour + "60")
        if len(upper) > 1:
            canvas.line(upper, fill=colour, width=2)
        canvas.rectangle((legend_x, bottom - 22, legend_x + 10, bottom - 12), fill=colour)
        canvas.text((legend_x + 14, bottom - 25), name, fill="#d8d9da", font=font)
        legend_x += 24 + int(canvas.textlength(name, font=font))


def _stacked(lines: list[Line]) -> list[tuple[str, list[tuple[float, float, float]]]]:
    """Each series as a band (time, bottom, top) on the ones before it."""
    totals: dict[float, float] = {}
    bands = []
    for name, points in lines:
        band = [(t, totals.get(t, 0.0), totals.get(t, 0.0) + v) for t, v in points]
        totals.update((t, high) for t, _, high in band)
        bands.append((name, band))
    return bands


def _box(grid: dict[str, int]) -> tuple[int, int, int, int]:
    """A panel's pixels from its Grafana grid position (24 columns)."""
    column = (WIDTH - 10) / 24
    return (
        5 + int(grid["x"] * column), 5 + grid["y"] * CELL,
        int(5 + (grid["x"] + grid["w"]) * column) - 6, 5 + (grid["y"] + grid["h"]) * CELL - 6,
    )  # fmt: skip


def picture(prometheus: httpx.Client, start: float, end: float) -> Image.Image:
    panels = dashboard()["panels"]
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    image = Image.new("RGB", (WIDTH, rows * CELL + 10), "#111217")
    canvas = ImageDraw.Draw(image, "RGBA")  # translucent stacked bands
    try:
        font: Font = ImageFont.truetype("DejaVuSans.ttf", 13)
    except OSError:
        font = ImageFont.load_default()
    for panel in panels:
        box = _box(panel["gridPos"])
        lines = []
        for target in panel["targets"]:
            for found in series(prometheus, target["expr"], start, end):
                points = [(float(t), float(v)) for t, v in found["values"]]
                points = [(t, v) for t, v in points if math.isfinite(v)]
                lines.append((legend(target["legendFormat"], found["metric"]), points))
        draw_panel(canvas, box, panel, lines, (start, end), font)
    return image


def main(out: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="editroom-picture-"))
    try:
        with embedded_postgres(tmp / "pg", cleanup="delete") as server, ExitStack() as processes:
            url = ensure_database(server)
            migrations.upgrade(url)
            stack = start_stack(
                processes, url, tmp, runners=2, interval_seconds=2,
                edit_timeout_seconds="4", edit_max_trials="2",
            )  # fmt: skip
            start = time.time()
            stop = threading.Event()
            threads = [
                threading.Thread(target=job, args=(stack.api, stop)) for job in (workload, follower)
            ]
            for thread in threads:
                thread.start()
            time.sleep(WORK_SECONDS)
            stop.set()
            for thread in threads:
                thread.join()
            time.sleep(20)  # the queue drains, and the last scrapes land
            picture(stack.prometheus, start, time.time()).save(out, optimize=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
