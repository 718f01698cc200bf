"""Uploads: a 1 GiB video sent to `POST /bucket/upload` of a real `editroom serve`, stored in
the local bucket and in S3 (moto's ThreadedMotoServer, in a process of its own), beside a
plain copy of the same bytes to the same target in the same run: a file copy into the bucket
directory, and a plain `minio` fput_object of the file.

The file is an MPEG-TS segment repeated (a valid stream, so the upload is accepted), written
once under bench/out/ and read in 1 MiB chunks by a generator as it is sent: the bench never
holds it in memory. An upload is timed from the first byte sent to the 201 answer, which
comes once the bytes are hashed, probed and stored; MB/s counts 10^6 bytes."""

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import httpx2 as httpx
import numpy as np
from PIL import Image

from bench.harness import (
    Report,
    editroom_env,
    free_port,
    processes,
    python_module,
    wait_until_answers,
)
from service.kernel.storage.s3 import MULTIPART_PART_BYTES, minio_client

OUT = Path(__file__).resolve().parent / "out"
GIB = 1024**3
CHUNK_BYTES = 1024 * 1024
SEGMENT_SECONDS = 4
REPEATS = 3  # medians count
S3_ACCESS_KEY = "editroom-bench"
S3_SECRET_KEY = "editroom-bench-secret"
S3_REGION = "us-east-1"
BUCKET = "editroom-bench"
TIMEOUT_SECONDS = 600.0
SMALL_UPLOADS = 21
SMALL_GOAL_MS = 30

Job = Callable[[], None]


def run(url: str) -> Report:
    big = _big_video()
    size = big.stat().st_size
    report = Report(
        f"Uploads: a {size / GIB:.2f} GiB MPEG-TS video in MB/s; small images in ms",
        "plain copy",
    )
    with tempfile.TemporaryDirectory(prefix="editroom-uploads-bench-") as folder:
        work = Path(folder)
        with _editroom(url, work / "local") as client:
            bucket = work / "local" / "bucket"
            _small_images(report, client, bucket, work)
            ours = _median(lambda: _upload(client, big))
            theirs = _median(lambda: _copy_into(bucket, big))
        report.add("local bucket", size / ours / 1e6, size / theirs / 1e6, higher_is_better=True)
        with _moto() as endpoint, _editroom(url, work / "s3", **_s3_settings(endpoint)) as client:
            ours = _median(lambda: _upload(client, big))
            theirs = _median(lambda: _fput(endpoint, big))
        report.add("S3 (moto server)", size / ours / 1e6, size / theirs / 1e6,
                   higher_is_better=True)  # fmt: skip
    return report


def _small_images(report: Report, client: httpx.Client, bucket: Path, work: Path) -> None:
    """A 640x480 JPEG upload's p50 (each different: no duplicate), and the first upload after
    the service started, beside a plain copy of the same bytes into the bucket."""
    photos = [_small_jpeg(work / f"small-{index}.jpg", index) for index in range(SMALL_UPLOADS)]
    first = _timed(lambda: _upload(client, photos[0])) * 1000
    ours = statistics.median(_timed(partial(_upload, client, photo)) for photo in photos[1:])
    theirs = statistics.median(_timed(partial(_copy_into, bucket, photo)) for photo in photos)
    p50 = ours * 1000
    report.add("640x480 JPEG upload p50, ms", p50, theirs * 1000, higher_is_better=False)
    report.add("first upload after start, ms", first, theirs * 1000, higher_is_better=False)
    report.goal(f"a small image uploads in at most {SMALL_GOAL_MS} ms at p50", p50 <= SMALL_GOAL_MS)
    report.goal("the first upload takes at most 3x the p50", first <= 3 * p50)


def _small_jpeg(path: Path, seed: int) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, "JPEG", quality=85)
    return path


def _timed(job: Job) -> float:
    started = time.perf_counter()
    job()
    return time.perf_counter() - started


def _median(job: Job) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        job()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# editroom


@contextmanager
def _editroom(url: str, data_dir: Path, **settings: str) -> Iterator[httpx.Client]:
    port = free_port()
    env = editroom_env(url, data_dir, **settings)
    with (
        processes([python_module("service", "serve", "--port", str(port))], env),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT_SECONDS) as client,
    ):
        wait_until_answers(f"http://127.0.0.1:{port}/readyz")
        yield client


def _upload(client: httpx.Client, path: Path) -> None:
    """Upload, check it was stored whole, and delete it again (the same bytes twice would be
    a duplicate, which stores nothing)."""
    response = client.post("/bucket/upload", params={"filename": path.name}, content=_read(path))
    if response.status_code != 201:
        raise RuntimeError(f"upload refused: {response.status_code} {response.text}")
    media = response.json()
    kind = "image" if path.suffix == ".jpg" else "video"
    if media["size_bytes"] != path.stat().st_size or media["kind"] != kind:
        raise RuntimeError(f"upload stored wrongly: {media}")
    client.delete(f"/bucket/upload/{media['id']}").raise_for_status()


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            yield chunk


# plain copies


def _copy_into(bucket: Path, path: Path) -> None:
    target = bucket / "plain-copy"
    shutil.copyfile(path, target)
    target.unlink()


def _fput(endpoint: str, path: Path) -> None:
    client = minio_client(
        endpoint, access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY, region=S3_REGION
    )
    client.fput_object(BUCKET, "plain-copy", str(path), part_size=MULTIPART_PART_BYTES)
    client.remove_object(BUCKET, "plain-copy")


# S3


@contextmanager
def _moto() -> Iterator[str]:
    """moto's ThreadedMotoServer in a process of its own (bench/moto_server.py), so that
    neither the uploading bench nor the plain copy shares its interpreter."""
    port = free_port()
    with processes([python_module("bench.moto_server", str(port))], env=dict(os.environ)):
        endpoint = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{endpoint}/moto-api/")
        client = minio_client(
            endpoint, access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY, region=S3_REGION
        )
        client.make_bucket(BUCKET)
        yield endpoint


def _s3_settings(endpoint: str) -> dict[str, str]:
    return {
        "s3_endpoint": endpoint, "s3_access_key": S3_ACCESS_KEY, "s3_secret_key": S3_SECRET_KEY,
        "s3_bucket": BUCKET, "s3_region": S3_REGION,
    }  # fmt: skip


# the file


def _big_video() -> Path:
    """At least 1 GiB of MPEG-TS: a 4 s 720p segment made by ffmpeg, repeated whole."""
    OUT.mkdir(exist_ok=True)
    path = OUT / "upload-1gib.ts"
    if path.exists():
        return path
    segment = OUT / "upload-segment.ts"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", str(SEGMENT_SECONDS),
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac",
         "-f", "mpegts", str(segment)],
        check=True,
    )  # fmt: skip
    data = segment.read_bytes()  # a few MB
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        written = 0
        while written < GIB:
            out.write(data)
            written += len(data)
    partial.replace(path)
    segment.unlink()
    return path
