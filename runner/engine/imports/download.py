"""The import itself: yt-dlp used as a library, in a sandboxed child, with every connection
guarded, every byte received counted against the limit, and no helper programs: one file,
no merging, fetched over http(s) by yt-dlp itself (see formats.py)."""

import logging
import re
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yt_dlp
from yt_dlp.networking.exceptions import RequestError
from yt_dlp.utils import DownloadError

from runner.engine.imports.audio_video import audio_as_video
from runner.engine.imports.formats import FormatCheck, no_format_message, selector
from runner.engine.imports.guard import ByteBudget, ImportPolicy, TransferFloor, guarded
from runner.engine.imports.request import ImportRequest
from runner.engine.jobs import ProducedFile, describe
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed, EditroomError, ImportRefused, ImportUnavailable

if TYPE_CHECKING:  # the options' type exists in the stubs only
    from yt_dlp import _YoutubeDLOptions

log = logging.getLogger(__name__)

PARTIAL_SUFFIXES = (".part", ".ytdl", ".temp")
LIST_FORMATS_HINT = "Use --list-formats for a list of available formats"  # the CLI's advice
# yt-dlp's words when a server declares a size over max_filesize: nothing is read then.
DECLARED_TOO_LARGE = re.compile(r"larger than max-filesize \((\d+) bytes > (\d+) bytes\)")
# requests' words for a URL no adapter fetches: a redirect to file:, ftp:, data:...
NO_ADAPTER = re.compile(r"No connection adapters were found for '([^']*)'")


class _Progress:
    """yt-dlp's progress hook: reports the media's bytes so far and in all. The limit is not
    kept here but in the guard's ByteBudget, which sees every byte the process receives."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress

    def hook(self, status: Mapping[str, Any]) -> None:
        done = int(status.get("downloaded_bytes") or 0)
        total = status.get("total_bytes") or status.get("total_bytes_estimate")
        fraction = min(done / total, 1.0) if total else None
        self._progress(fraction, {"bytes": done, "total_bytes": int(total) if total else None})


class _Quiet:
    """yt-dlp's logger: its errors arrive as exceptions and the chatter is dropped, but what it
    says is kept (some refusals, like a size over max_filesize, are only said)."""

    def __init__(self, ydl: object = None) -> None:
        self.ydl = ydl
        self.said: list[str] = []

    def debug(self, message: str) -> None:
        self.said.append(message)
        log.debug(message)

    def info(self, message: str) -> None:
        self.said.append(message)
        log.debug(message)

    def warning(self, message: str, *, once: bool = False, only_once: bool = False) -> None:
        log.debug(message)

    def error(self, message: str) -> None:
        log.debug(message)

    def stdout(self, message: str) -> None:
        log.debug(message)

    def stderr(self, message: str) -> None:
        log.debug(message)


def import_url(
    request: ImportRequest,
    out_dir: str,
    policy: ImportPolicy,
    limits: Limits,
    options: dict[str, Any],
    *,
    progress: Any,
) -> list[ProducedFile]:
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    budget = ByteBudget(int(options["max_bytes"]))
    floor = TransferFloor(
        int(options["min_bytes_per_second"]), float(options["rate_window_seconds"])
    )
    refused: list[ImportRefused] = []
    logger = _Quiet()
    settings = _ydl_options(
        request, target, _Progress(progress), budget, float(options["socket_timeout"]), logger
    )
    try:
        with (
            guarded(policy, refused=refused, budget=budget, floor=floor),
            no_helper_programs(),
            yt_dlp.YoutubeDL(settings) as ydl,
        ):
            ydl.add_post_processor(FormatCheck(), when="before_dl")
            ydl.download([request.url])
    except DownloadError as exc:
        raise _explained(exc, request, refused, budget, floor) from None
    except RequestError as exc:  # raised as it is for a redirect no adapter follows
        raise _unfetchable(exc) from None
    if stopped := _stopped(budget, floor):  # whatever yt-dlp made of the failed read
        raise stopped
    if refused:
        raise refused[0]
    downloaded = _downloaded(request, target, budget, logger)
    frame_pixels = int(options["max_frame_pixels"])
    return [describe(downloaded, limits, verify=True, max_frame_pixels=frame_pixels)]


def _stopped(budget: ByteBudget, floor: TransferFloor) -> EditFailed | None:
    if budget.exceeded:
        return EditFailed(budget.message())
    if floor.shortfall is not None:
        return EditFailed(floor.message())
    return None


def _declared_too_large(text: str, budget: ByteBudget) -> EditFailed | None:
    """The server said, before sending anything, that the file is over the limit."""
    found = DECLARED_TOO_LARGE.search(text)
    if found is None:
        return None
    return EditFailed(
        f"the server declared {int(found[1]):,} bytes, more than the import's limit of "
        f"{budget.max_bytes:,} bytes (EDITROOM_IMPORT_MAX_BYTES); nothing was downloaded"
    )


def _unfetchable(exc: RequestError) -> EditroomError:
    found = NO_ADAPTER.search(str(exc))
    if found is None:
        return ImportUnavailable(f"the import could not be fetched: {exc}")
    scheme = found[1].split(":", 1)[0] if ":" in found[1] else "none"
    return ImportRefused(
        f"the server redirected to a {scheme}: URL; only http and https URLs can be imported, "
        "redirects included"
    )


def _downloaded(request: ImportRequest, target: Path, budget: ByteBudget, logger: _Quiet) -> Path:
    """The file yt-dlp wrote (audio turned into a video), or why there is none."""
    files = sorted(
        p for p in target.iterdir() if p.is_file() and not p.name.endswith(PARTIAL_SUFFIXES)
    )
    if not files:
        for message in logger.said:
            if declared := _declared_too_large(message, budget):
                raise declared
        raise EditFailed(f"nothing was downloaded from {request.url}")
    return audio_as_video(files[0], target) if request.format == "audio" else files[0]


def _ydl_options(
    request: ImportRequest,
    target: Path,
    progress: _Progress,
    budget: ByteBudget,
    socket_timeout: float,
    logger: _Quiet,
) -> "_YoutubeDLOptions":
    return {
        "format": selector(request),
        "outtmpl": {"default": str(target / "import.%(ext)s")},
        "noplaylist": True,
        "playlist_items": "1",
        "max_filesize": budget.max_bytes,  # a declared size over it: not even started
        "socket_timeout": max(1, round(socket_timeout)),
        "progress_hooks": [progress.hook],
        "proxy": "",  # never through a proxy from the environment
        # No helper programs: none can be found, and no downloader but yt-dlp's own is chosen.
        "ffmpeg_location": str(_empty_directory(target / ".no-programs")),
        "external_downloader": {"default": "native"},
        "hls_prefer_native": True,
        "js_runtimes": {},  # no JavaScript runtime (deno, node) for sites' challenges
        "fixup": "never",  # fixing a file up would need ffmpeg
        "cachedir": str(target / ".cache"),  # nothing kept between imports
        "retries": 1,
        "fragment_retries": 1,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": logger,
    }


def _empty_directory(path: Path) -> Path:
    path.mkdir(exist_ok=True)
    return path


@contextmanager
def no_helper_programs() -> Iterator[None]:
    """No child process starts meanwhile (yt-dlp's ffmpeg, rtmpdump, phantomjs...): a helper
    program would resolve names and connect on its own, out of the guard's reach. yt-dlp
    takes the refusal as the program missing."""
    original = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def refused(*args: Any, **kwargs: Any) -> None:
        raise PermissionError("imports run no helper programs")

    subprocess.Popen._execute_child = refused  # type: ignore[attr-defined]
    try:
        yield
    finally:
        subprocess.Popen._execute_child = original  # type: ignore[attr-defined]


def _explained(
    exc: DownloadError,
    request: ImportRequest,
    refused: list[ImportRefused],
    budget: ByteBudget,
    floor: TransferFloor,
) -> EditroomError:
    if stopped := _stopped(budget, floor):
        return stopped
    if refused:
        return refused[0]
    message = str(exc).removeprefix("ERROR: ").replace(LIST_FORMATS_HINT, "").strip()
    lowered = message.lower()
    if (
        "unsupported url" in lowered
        or "no video formats" in lowered
        or "requested format" in lowered
    ):
        return EditFailed(no_format_message(request, message))
    if declared := _declared_too_large(message, budget):
        return declared
    if "larger than max-filesize" in lowered:
        return EditFailed(budget.message())
    if "http error 4" in lowered:
        return EditFailed(f"the server refused: {message}")
    return ImportUnavailable(f"the import could not be fetched: {message}")
