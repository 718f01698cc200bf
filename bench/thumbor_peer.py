"""thumbor, the image server the image benchmark compares with, started by the bench on a free
loopback port.

thumbor 7.8.0 (the newest) declares Pillow < 13, and the project runs Pillow 13, so it cannot
join the project's lock: a `bench` dependency group with it would pull the product down to
Pillow 12, and thumbor 7.5.1 (the last without that cap) fails on import under Pillow 13
(`ImageCms.FLAGS` is gone). So thumbor gets a virtualenv of its own under bench/out/, made
by the bench with the project's pinned uv from bench/thumbor-requirements.txt (every version
and hash pinned; regenerate it from bench/thumbor.in as its header says)."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import free_port, processes, wait_until_answers

BENCH = Path(__file__).resolve().parent
REQUIREMENTS = BENCH / "thumbor-requirements.txt"
VENV = BENCH / "out" / "thumbor-venv"
UV = BENCH.parent / ".venv" / "bin" / "uv"
PYTHON_VERSION = "3.11"
# editroom's default JPEG quality; the image bench's requests each name their own.
JPEG_QUALITY = 85
# thumbor's own defaults, except: images read from a folder, nothing cached between requests
# (editroom reads its source and encodes anew for every edit too), unsigned URLs, and the
# JPEG quality above.
CONFIG = """\
LOADER = "thumbor.loaders.file_loader"
FILE_LOADER_ROOT_PATH = {root!r}
STORAGE = "thumbor.storages.no_storage"
RESULT_STORAGE = None
ALLOW_UNSAFE_URL = True
QUALITY = {quality}
"""
# With result storage (the peer of editroom's results by address): each result kept as a file
# and served from it when asked again; thumbor keeps results of unsigned URLs only when told.
WITH_RESULT_STORAGE = """\
RESULT_STORAGE = "thumbor.result_storages.file_storage"
RESULT_STORAGE_FILE_STORAGE_ROOT_PATH = {results!r}
RESULT_STORAGE_STORES_UNSAFE = True
"""


def version() -> str:
    return subprocess.run(
        [str(_installed() / "bin" / "thumbor"), "--version"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


@contextmanager
def thumbor(
    *, root: Path, processes_count: int, work: Path, results: Path | None = None
) -> Iterator[str]:
    """thumbor serving the images under `root` with `processes_count` processes; yields its
    base URL once it answers. With `results`, its file result storage keeps results there."""
    config = work / ("thumbor.conf" if results is None else "thumbor-result-storage.conf")
    text = CONFIG.format(root=str(root), quality=JPEG_QUALITY)
    if results is not None:
        stored = WITH_RESULT_STORAGE.format(results=str(results))
        text = text.replace("RESULT_STORAGE = None\n", stored)
    config.write_text(text)
    port = free_port()
    command = [
        str(_installed() / "bin" / "thumbor"), "--ip", "127.0.0.1", "--port", str(port),
        "--conf", str(config), "--processes", str(processes_count), "--log-level", "error",
    ]  # fmt: skip
    with processes([command], env={"PATH": "/usr/bin:/bin"}):
        base_url = f"http://127.0.0.1:{port}"
        wait_until_answers(f"{base_url}/healthcheck")
        yield base_url


def _installed() -> Path:
    """The virtualenv, made (or brought in line with the requirements) if needed."""
    marker = VENV / ".requirements"
    wanted = REQUIREMENTS.read_text()
    if marker.exists() and marker.read_text() == wanted:
        return VENV
    subprocess.run(
        [str(UV), "venv", "--quiet", "--clear", "--python", PYTHON_VERSION, str(VENV)], check=True
    )
    subprocess.run(
        [str(UV), "pip", "sync", "--quiet", "--require-hashes", "--python",
         str(VENV / "bin" / "python"), str(REQUIREMENTS)],
        check=True,
    )  # fmt: skip
    marker.write_text(wanted)
    return VENV
