"""The import itself: yt-dlp used as a library, in a sandboxed child, with every connection
guarded, every byte received counted against the limit, and no helper programs: one file,
no merging, fetched over http(s) by yt-dlp itself (see formats.py)."""

import http.client
import logging
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import DownloadError, ExtractorError

from runner.engine.imports.audio_video import audio_as_video
from runner.engine.imports.decoded import DecodedBudget, held_to
from runner.engine.imports.formats import FormatCheck, no_format_message, selector
from runner.engine.imports.guard import (
    ByteBudget,
    ImportPolicy,
    TransferFloor,
    guarded,
    redirect_refusal,
)
from runner.engine.imports.request import ImportRequest
from runner.engine.jobs import ProducedFile, describe
from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed, EditroomError, ImportRefused, ImportUnavailable

if TYPE_CHECKING:  # the options' type exists in the stubs only
    from yt_dlp import _YoutubeDLOptions
    from yt_dlp.extractor.common import _InfoDict
    from yt_dlp.networking.common import Response

log = logging.getLogger(__name__)

PARTIAL_SUFFIXES = (".part", ".ytdl", ".temp")
LIST_FORMATS_HINT = "Use --list-formats for a list of available formats"  # the CLI's advice
# Refusals by HTTP status: a client error is final, but for these two, which say "later".
RETRIED_STATUSES = frozenset({408, 429})
# An answer http.client cannot read as HTTP: a status line that is none (another protocol), a
# header line over 64 KiB; over 100 headers is its bare HTTPException. The server's doing, the
# same on every try, unlike a connection closed before any answer (RemoteDisconnected) or
# partway through its status line (see _whole_line).
MALFORMED_ANSWERS = (
    http.client.BadStatusLine,
    http.client.LineTooLong,
    http.client.UnknownProtocol,
)


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
    """yt-dlp's logger: its errors arrive as exceptions, and the chatter is dropped."""

    def __init__(self, ydl: object = None) -> None:
        self.ydl = ydl

    def debug(self, message: str) -> None:
        log.debug(message)

    def info(self, message: str) -> None:
        log.debug(message)

    def warning(self, message: str, *, once: bool = False, only_once: bool = False) -> None:
        log.debug(message)

    def error(self, message: str) -> None:
        log.debug(message)

    def stdout(self, message: str) -> None:
        log.debug(message)

    def stderr(self, message: str) -> None:
        log.debug(message)


class _Importer(yt_dlp.YoutubeDL):
    """yt-dlp, refusing the media's download as soon as its server declares a size over the
    limit (Content-Length), before a byte of it is read. Pages and manifests are not held to
    this: they are read whole, and the guard's ByteBudget stops them at the limit."""

    def __init__(self, params: "_YoutubeDLOptions", max_bytes: int) -> None:
        super().__init__(params)
        self.max_bytes = max_bytes
        self.fetching_media = False

    def dl(self, name: str, info: "_InfoDict", subtitle: bool = False, test: bool = False) -> bool:
        self.fetching_media = True
        try:
            return super().dl(name, info, subtitle=subtitle, test=test)
        finally:
            self.fetching_media = False

    def urlopen(self, req: urllib.request.Request | str) -> "Response":
        response = super().urlopen(req)
        head = str(getattr(req, "method", None) or "GET").upper() == "HEAD"  # yt-dlp's or urllib's
        if self.fetching_media and not head:
            declared = declared_size(response)
            if declared is not None and declared > self.max_bytes:
                response.close()
                raise EditFailed(
                    f"the server declared {declared:,} bytes, more than the import's limit of "
                    f"{self.max_bytes:,} bytes (EDITROOM_IMPORT_MAX_BYTES); nothing was downloaded"
                )
        return response


def declared_size(response: "Response") -> int | None:
    """The body's size a response declares (Content-Length), if it declares one."""
    length = str(response.headers.get("Content-Length") or "").strip()
    return int(length) if length.isdigit() else None


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
    decoded = DecodedBudget(budget)
    floor = TransferFloor(
        int(options["min_bytes_per_second"]), float(options["rate_window_seconds"])
    )
    refused: list[ImportRefused] = []
    settings = _ydl_options(
        request, target, _Progress(progress), budget, float(options["socket_timeout"]), _Quiet()
    )
    try:
        with (
            guarded(policy, refused=refused, budget=budget, floor=floor),
            held_to(decoded),
            no_helper_programs(),
            _Importer(settings, budget.max_bytes) as ydl,
        ):
            ydl.add_post_processor(FormatCheck(), when="before_dl")
            ydl.download([request.url])
    except (DownloadError, RequestError) as exc:  # RequestError: raised as it is, at times
        stopped = _stopped(budget, floor, decoded)
        raise stopped or _first(refused) or explained(exc, request) from None
    if stopped := _stopped(budget, floor, decoded):  # whatever yt-dlp made of the failed read
        raise stopped
    if refused:
        raise refused[0]
    downloaded = _downloaded(request, target)
    frame_pixels = int(options["max_frame_pixels"])
    return [describe(downloaded, limits, verify=True, max_frame_pixels=frame_pixels)]


def _stopped(budget: ByteBudget, floor: TransferFloor, decoded: DecodedBudget) -> EditFailed | None:
    if decoded.exceeded:  # the one limit, a compressed answer counted in it
        return EditFailed(decoded.message())
    if budget.exceeded:
        return EditFailed(budget.message())
    if floor.shortfall is not None:
        return EditFailed(floor.message())
    return None


def _first(refused: list[ImportRefused]) -> ImportRefused | None:
    return refused[0] if refused else None


def explained(exc: BaseException, request: ImportRequest) -> EditroomError:
    """What a failure of yt-dlp's is for editroom, decided by the exceptions it carries (a
    DownloadError's exc_info, an ExtractorError's, a RequestError's cause), never by its text:
    an HTTP answer by its status and Location; a network failure is retried; an error the
    extractor expected (an unsupported page, no format, or none as asked) is final, and so is
    an answer that is not HTTP; anything else, a yt-dlp bug or a site it no longer
    understands, is retried."""
    message = _said(exc)
    causes = list(_causes(exc))
    answer = next((cause for cause in causes if isinstance(cause, HTTPError)), None)
    if answer is not None:
        return _answered(answer, message)
    if any(_malformed(cause) for cause in causes):
        return EditFailed(f"the server's answer is not HTTP editroom can read: {message}")
    if any(isinstance(cause, (TransportError, ConnectionError, TimeoutError)) for cause in causes):
        return ImportUnavailable(f"the import could not be fetched: {message}")
    if any(isinstance(cause, ExtractorError) and cause.expected for cause in causes):
        return EditFailed(no_format_message(request, message))
    return ImportUnavailable(f"the import could not be fetched: {message}")


def _answered(answer: HTTPError, message: str) -> EditroomError:
    location = answer.response.headers.get("Location")
    redirected = 300 <= answer.status < 400 and location
    if redirected and (refusal := redirect_refusal(answer.response.url, str(location))):
        return refusal
    if answer.status >= 500 or answer.status in RETRIED_STATUSES:
        return ImportUnavailable(f"the import could not be fetched: {message}")
    return EditFailed(f"the server refused: {message}")


def _malformed(error: BaseException) -> bool:
    if isinstance(error, http.client.BadStatusLine):
        return _whole_line(error)
    return isinstance(error, MALFORMED_ANSWERS) or type(error) is http.client.HTTPException


def _whole_line(error: http.client.BadStatusLine) -> bool:
    """A whole line that is no status line is another protocol; one cut short by the server's
    close (`HTTP/1.1 5`, a server or load balancer that crashed), or none at all
    (RemoteDisconnected, whose line is empty), is a failure the next try may not meet."""
    return str(getattr(error, "line", "")).endswith("\n")


def _said(exc: BaseException) -> str:
    """yt-dlp's message, for a person: without its "ERROR: " and the command line's advice."""
    return str(exc).removeprefix("ERROR: ").replace(LIST_FORMATS_HINT, "").strip()


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, then every exception it carries, each once."""
    pending, seen = [exc], set()
    while pending:
        error = pending.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        carried = [error.__cause__, error.__context__]
        if isinstance(error, (DownloadError, ExtractorError)) and error.exc_info:
            carried.insert(0, error.exc_info[1])
        if isinstance(error, (ExtractorError, RequestError)):
            carried.insert(0, error.cause if isinstance(error.cause, BaseException) else None)
        pending += [found for found in carried if found is not None]


def _downloaded(request: ImportRequest, target: Path) -> Path:
    """The file yt-dlp wrote (audio turned into a video), or why there is none."""
    files = sorted(
        p for p in target.iterdir() if p.is_file() and not p.name.endswith(PARTIAL_SUFFIXES)
    )
    if not files:
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
        # yt-dlp's own check of a declared size, after _Importer's (which says why it stops).
        "max_filesize": budget.max_bytes,
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
