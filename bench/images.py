"""Images end to end: a 4000x3000 JPEG (made here once, kept under bench/out/) resized to
800 wide, through a real `editroom serve` and two `editroom runner` processes, beside thumbor
doing the same over its HTTP endpoint (on the same machine, in the same run), and beside
bare Pillow in a loop.

Every request gives a result never made before, as real edits do: the job cycles through
PHOTOS different photos and the JPEG qualities QUALITIES, the same sequence for all three.
(The same edit repeated would give the same bytes, which editroom stores once: a repeated
result would skip the storing and the media row that a new one costs.)

An editroom edit's latency is from sending `POST /edit?...&wait=60` to receiving its answer,
which the service gives once the edit's completion NOTIFY (the one that drives the SSE
`completed` event) has arrived; thumbor's is that of its GET. Latency is measured one request
at a time with the servers otherwise idle; throughput with CLIENTS requests in flight.

The machine may be shared, so the three are measured side by side rather than one after the
other: both servers stay up for the whole run, latency samples take turns (editroom,
thumbor, Pillow, editroom, ...), and throughput is measured in alternating rounds, so that
whatever else the machine does weighs on all of them alike.

Then a repeated edit: the same results asked for again and again by address, editroom's
`GET /media/{id}/resize=800x&format=jpeg&quality=85` beside thumbor's GET of the same resize,
once with thumbor as above (no result storage: it resizes again every time) and once with its
file result storage on (the result kept as a file and served from it), each result made once
before measuring."""

import io
import itertools
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx2 as httpx
from PIL import Image

from bench import thumbor_peer
from bench.harness import (
    Report,
    editroom_env,
    free_port,
    percentile,
    processes,
    python_module,
    wait_until_answers,
)

OUT = Path(__file__).resolve().parent / "out"
PHOTO_SIZE = (4000, 3000)
PHOTO_QUALITY = 90  # a camera's JPEG
WIDTH = 800
HEIGHT = PHOTO_SIZE[1] * WIDTH // PHOTO_SIZE[0]
PHOTOS = 8
QUALITIES = range(70, 96)  # JPEG quality of the result; editroom's default, 85, among them
RUNNERS = 2  # runner processes, each with its default concurrency; thumbor gets as many
WARM_UP = 6  # requests before measuring: forkservers, pools and caches filled
LATENCY_ROUNDS = 40  # one sample of each per round
NAIVE_EVERY = 4  # rounds; Pillow decoding at full size is slow and only for reference
THROUGHPUT_ROUNDS = 3  # of THROUGHPUT_REQUESTS each, editroom and thumbor in turn
THROUGHPUT_REQUESTS = 40
REPEATED_REQUESTS = 160  # per round of the repeated edits: editroom answers hundreds a second
REPEATED_QUALITY = 85
REPEATED_GOAL = 5.0  # times thumbor's rate without result storage
CLIENTS = 8
TIMEOUT_SECONDS = 120.0

Job = Callable[[], None]
T = TypeVar("T")
Variant = tuple[Path, int]  # a photo and the quality of its resized JPEG


class Variants:
    """The same sequence of (photo, quality) for every system measured; thread-safe."""

    def __init__(self, photos: list[Path]) -> None:
        self._all = [(photo, quality) for quality in QUALITIES for photo in photos]
        self._next = 0
        self._lock = threading.Lock()

    def __call__(self) -> Variant:
        with self._lock:
            variant = self._all[self._next % len(self._all)]
            self._next += 1
        return variant


def _turns(items: list[T]) -> Callable[[], T]:
    """Each of `items` in turn, round and round; thread-safe."""
    endless, lock = itertools.cycle(items), threading.Lock()

    def turn() -> T:
        with lock:
            return next(endless)

    return turn


def run(url: str) -> list[Report]:
    photos = _photos()
    with (
        tempfile.TemporaryDirectory(prefix="editroom-images-bench-") as folder,
        _editroom(url, Path(folder), photos) as (ours, ours_again),
        thumbor_peer.thumbor(root=OUT, processes_count=RUNNERS, work=Path(folder)) as base_url,
        thumbor_peer.thumbor(
            root=OUT, processes_count=RUNNERS, work=Path(folder),
            results=Path(folder) / "thumbor-results",
        ) as stored_url,
    ):  # fmt: skip
        theirs = _thumbor_job(base_url, Variants(photos))
        pillow = _pillow_job(Variants(photos), draft=True)
        naive = _pillow_job(Variants(photos), draft=False)
        for job in (ours, theirs, pillow):
            for _ in range(WARM_UP):
                job()
        latencies = _latencies(ours=ours, theirs=theirs, pillow=pillow, naive=naive)
        rates = _rates(ours=ours, theirs=theirs)
        repeated = _repeated(
            ours=ours_again,
            theirs=_thumbor_repeated(base_url, photos),
            stored=_thumbor_repeated(stored_url, photos),
            photos=len(photos),
        )  # fmt: skip
    ours_measured = Measures(latencies["ours"], rates["ours"])
    theirs_measured = Measures(latencies["theirs"], rates["theirs"])
    return [
        _beside_thumbor(ours_measured, theirs_measured),
        _beside_pillow(ours_measured, latencies["pillow"], latencies["naive"]),
        _repeated_beside_thumbor(repeated),
    ]


def _repeated(*, photos: int, **jobs: Job) -> dict[str, "Measures"]:
    """Each result made once first (every job cycles through the photos), then measured."""
    for job in jobs.values():
        for _ in range(photos):
            job()
    latencies = _latencies(**jobs)
    rates = _rates(requests=REPEATED_REQUESTS, **jobs)
    return {name: Measures(latencies[name], rates[name]) for name in jobs}


class Measures:
    def __init__(self, latencies_ms: list[float], per_second: float) -> None:
        self.latencies_ms = latencies_ms
        self.per_second = per_second

    def p(self, percent: int) -> float:
        return percentile(self.latencies_ms, percent)


def _latencies(**jobs: Job) -> dict[str, list[float]]:
    """Milliseconds, one job at a time, the jobs taking turns."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for round_ in range(LATENCY_ROUNDS):
        for name, job in jobs.items():
            if name != "naive" or round_ % NAIVE_EVERY == 0:
                samples[name].append(_timed(job) * 1000)
    return samples


def _rates(requests: int = THROUGHPUT_REQUESTS, **jobs: Job) -> dict[str, float]:
    """Jobs per second with CLIENTS in flight: the median of rounds taken in turn."""
    rates: dict[str, list[float]] = {name: [] for name in jobs}
    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in range(THROUGHPUT_ROUNDS):
            for name, job in jobs.items():
                started = time.perf_counter()
                for future in [pool.submit(job) for _ in range(requests)]:
                    future.result()
                rates[name].append(requests / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def _timed(job: Job) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _beside_thumbor(ours: Measures, theirs: Measures) -> Report:
    report = Report(
        f"Images: {_job_name()}, beside {thumbor_peer.version()}", "thumbor",
    )  # fmt: skip
    rate = report.add(
        f"resizes/s, {CLIENTS} clients, {RUNNERS} processes each",
        ours.per_second, theirs.per_second, higher_is_better=True,
    )  # fmt: skip
    for p in (50, 99):
        report.add(
            f"latency p{p}, one request at a time (ms)", ours.p(p), theirs.p(p),
            higher_is_better=False,
        )  # fmt: skip
    latency = ours.p(50) / theirs.p(50)  # editroom's p50 in thumbor's: at most 1 is the goal
    report.goal(
        f"at least thumbor's rate and at most its p50 latency (got {rate:.2f}x its rate, "
        f"a p50 {latency:.2f}x its own)",
        rate >= 1 and latency <= 1,
    )
    return report


def _repeated_beside_thumbor(measured: dict[str, Measures]) -> Report:
    ours, theirs, stored = measured["ours"], measured["theirs"], measured["stored"]
    report = Report(
        f"Images: a repeated edit by address (GET /media/{{id}}/resize={WIDTH}x&format=jpeg"
        f"&quality={REPEATED_QUALITY}), beside {thumbor_peer.version()}", "thumbor",
    )  # fmt: skip
    rate = report.add(
        f"resizes/s, {CLIENTS} clients, vs thumbor without result storage",
        ours.per_second, theirs.per_second, higher_is_better=True,
    )  # fmt: skip
    report.add(
        f"resizes/s, {CLIENTS} clients, vs thumbor with file result storage",
        ours.per_second, stored.per_second, higher_is_better=True,
    )  # fmt: skip
    report.add("latency p50 (ms) vs thumbor without result storage", ours.p(50), theirs.p(50),
               higher_is_better=False)  # fmt: skip
    report.add("latency p50 (ms) vs thumbor with file result storage", ours.p(50), stored.p(50),
               higher_is_better=False)  # fmt: skip
    report.goal(
        f"at least {REPEATED_GOAL:g}x thumbor's rate without result storage (got {rate:.2f}x)",
        rate >= REPEATED_GOAL,
    )
    return report


def _beside_pillow(ours: Measures, pillow_ms: list[float], naive_ms: list[float]) -> Report:
    report = Report(f"Images: {_job_name()}, beside bare Pillow in a loop", "Pillow loop")
    p50, pillow = ours.p(50), statistics.median(pillow_ms)
    report.add("editroom p50 latency vs Pillow's median per-image time (ms)", p50, pillow,
               higher_is_better=False)  # fmt: skip
    report.add("the same, Pillow decoding at full size (no JPEG draft) (ms)", p50,
               statistics.median(naive_ms), higher_is_better=False)  # fmt: skip
    report.add("images/s: editroom's 2 runners vs one Pillow loop", ours.per_second,
               1000 / pillow, higher_is_better=True)  # fmt: skip
    report.goal(
        f"p50 latency within 1.5x of bare Pillow's per-image time (got {p50 / pillow:.2f}x)",
        p50 <= 1.5 * pillow,
    )
    return report


def _job_name() -> str:
    return (
        f"{PHOTO_SIZE[0]}x{PHOTO_SIZE[1]} JPEGs resized to {WIDTH} wide "
        f"(JPEG quality {QUALITIES[0]}-{QUALITIES[-1]})"
    )


# editroom


@contextmanager
def _editroom(url: str, work: Path, photos: list[Path]) -> Iterator[tuple[Job, Job]]:
    """Two jobs: a fresh edit by POST /edit, and a repeated one by GET address."""
    env = editroom_env(url, work / "editroom")
    port = free_port()
    serve = python_module("service", "serve", "--port", str(port))
    runner = python_module("service", "runner")
    with (
        processes([serve, *[runner] * RUNNERS], env),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT_SECONDS,
                     limits=httpx.Limits(max_connections=CLIENTS)) as client,
    ):  # fmt: skip
        wait_until_answers(f"http://127.0.0.1:{port}/readyz")
        media = {photo: _upload(client, photo) for photo in photos}
        variants = Variants(photos)

        def job() -> None:
            photo, quality = variants()
            _edit(client, media[photo], quality)

        photo, quality = photos[0], QUALITIES[-1]  # a variant the measured jobs make last
        _check_result(client, _edit(client, media[photo], quality))
        yield job, _repeated_job(client, [media[photo] for photo in photos])


def _repeated_job(client: httpx.Client, media: list[str]) -> Job:
    turn = _turns(media)

    def get(media_id: str) -> bytes:
        address = f"/media/{media_id}/resize={WIDTH}x&format=jpeg&quality={REPEATED_QUALITY}"
        response = client.get(address)
        if response.status_code != 200:
            raise RuntimeError(f"GET {address}: {response.status_code} {response.text[:200]}")
        return response.content

    def job() -> None:
        get(turn())

    _check_jpeg(get(media[0]))
    return job


def _upload(client: httpx.Client, photo: Path) -> str:
    response = client.post(
        "/bucket/upload", params={"filename": photo.name}, content=photo.read_bytes()
    )
    response.raise_for_status()
    return str(response.json()["id"])


def _edit(client: httpx.Client, media: str, quality: int) -> dict[str, Any]:
    response = client.post(
        "/edit",
        params={"media": media, "resize": f"{WIDTH}x", "format": "jpeg",
                "quality": str(quality), "wait": str(TIMEOUT_SECONDS / 2)},
    )  # fmt: skip
    response.raise_for_status()
    edit: dict[str, Any] = response.json()
    if edit["status"] != "completed":
        raise RuntimeError(f"the edit did not complete: {edit}")
    return edit


def _check_result(client: httpx.Client, edit: dict[str, Any]) -> None:
    (output,) = edit["outputs"]
    _check_jpeg(client.get(output["content_url"]).content)


def _check_jpeg(content: bytes) -> None:
    with Image.open(io.BytesIO(content)) as result:
        if (result.format, result.size) != ("JPEG", (WIDTH, HEIGHT)):
            raise RuntimeError(
                f"expected an {WIDTH}x{HEIGHT} JPEG, got {result.format} {result.size}"
            )


# thumbor


def _thumbor_job(base_url: str, variants: Variants) -> Job:
    client = httpx.Client(
        base_url=base_url, timeout=TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=CLIENTS)
    )

    def get(photo: Path, quality: int) -> bytes:
        response = client.get(f"/unsafe/{WIDTH}x0/filters:quality({quality})/{photo.name}")
        response.raise_for_status()
        return response.content

    def job() -> None:
        get(*variants())

    _check_jpeg(get(*Variants([_photo(0)])()))
    return job


def _thumbor_repeated(base_url: str, photos: list[Path]) -> Job:
    """The same results asked for again and again: one per photo, in turn."""
    client = httpx.Client(
        base_url=base_url, timeout=TIMEOUT_SECONDS, limits=httpx.Limits(max_connections=CLIENTS)
    )
    turn = _turns(photos)

    def job() -> None:
        photo = turn()
        response = client.get(f"/unsafe/{WIDTH}x0/filters:quality({REPEATED_QUALITY})/{photo.name}")
        response.raise_for_status()

    return job


# bare Pillow


def _pillow_job(variants: Variants, *, draft: bool) -> Job:
    """Open, resize to 800 wide with Lanczos, save as JPEG, in this process. With `draft`,
    the JPEG decoder scales by 1/2, 1/4 or 1/8 as it decodes when the result needs no more
    pixels, as editroom and thumbor both ask it to."""
    target = OUT / f"pillow-{'draft' if draft else 'full'}.jpg"

    def resize(photo: Path, quality: int) -> None:
        with Image.open(photo) as image:
            if draft:
                image.draft("RGB", (WIDTH, HEIGHT))
            image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS).save(
                target, "JPEG", quality=quality
            )

    def job() -> None:
        resize(*variants())

    resize(_photo(0), QUALITIES[0])
    _check_jpeg(target.read_bytes())
    return job


def _photos() -> list[Path]:
    return [_photo(index) for index in range(PHOTOS)]


def _photo(index: int) -> Path:
    """A 4000x3000 camera-like JPEG: colour gradients, a fractal's edges (a different part of
    it for each index) and sensor grain."""
    OUT.mkdir(exist_ok=True)
    path = OUT / f"photo-{PHOTO_SIZE[0]}x{PHOTO_SIZE[1]}-{index}.jpg"
    if path.exists():
        return path
    shift = index * 0.1
    extent = (-2.2 + shift, -1.2 + shift / 2, 1.0 + shift, 1.2 + shift / 2)
    texture = Image.effect_mandelbrot(PHOTO_SIZE, extent, 100)
    grain = Image.effect_noise(PHOTO_SIZE, 24)
    horizontal = Image.linear_gradient("L").rotate(90).resize(PHOTO_SIZE)
    channels = [Image.linear_gradient("L").resize(PHOTO_SIZE),
                Image.radial_gradient("L").resize(PHOTO_SIZE), horizontal]  # fmt: skip
    mixed = [Image.blend(Image.blend(c, texture, 0.35), grain, 0.25) for c in channels]
    partial = path.with_suffix(".partial")
    Image.merge("RGB", mixed).save(partial, "JPEG", quality=PHOTO_QUALITY)
    partial.replace(path)
    return path
