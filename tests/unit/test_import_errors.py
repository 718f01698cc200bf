"""Which of editroom's errors a failed import is: decided by the exceptions yt-dlp carries
(a DownloadError's exc_info, an ExtractorError's cause, an HTTP answer's status and Location),
never by their text. Each failure is built as yt-dlp builds it: the underlying exception
raised, an ExtractorError raised while handling it, and YoutubeDL.report_error turning that
into the DownloadError an import sees."""

import importlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yt_dlp
from yt_dlp.networking.common import Response
from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError
from yt_dlp.utils import DownloadError, ExtractorError, UnsupportedError

from runner.engine.imports.download import _Importer, _Quiet, explained
from runner.engine.imports.request import ImportRequest
from service.kernel.errors import EditFailed, EditroomError, ImportRefused, ImportUnavailable
from tests.web import handlers_of, malformed, serve_bytes, web_server

PAGE = "https://videos.example/watch/1"
REQUEST = ImportRequest(url=PAGE)


def reported(fail: Callable[[], None]) -> DownloadError:
    """The DownloadError yt-dlp raises for what `fail` raises, as its extraction wrapper
    reports an ExtractorError (YoutubeDL.report_error, from within the except block)."""
    with yt_dlp.YoutubeDL({"logger": _Quiet(), "quiet": True}) as ydl:
        try:
            fail()
        except ExtractorError as exc:
            with pytest.raises(DownloadError) as caught:
                ydl.report_error(str(exc))
    return caught.value


def answer(status: int, reason: str, **headers: str) -> HTTPError:
    response = Response(io.BytesIO(b""), url=PAGE, headers=headers, status=status, reason=reason)
    return HTTPError(response)


def page_failing_with(cause: Exception, said: str | None = None) -> Callable[[], None]:
    """An extractor's webpage download failing with `cause`, in its own words or, as
    InfoExtractor's, naming the cause."""

    def fail() -> None:
        try:
            raise cause
        except (HTTPError, TransportError) as err:
            raise ExtractorError(said or f"Unable to download webpage: {err}", cause=err) from err

    return fail


def raising(error: Exception) -> Callable[[], None]:
    def fail() -> None:
        raise error

    return fail


def chosen(fail: Callable[[], None]) -> EditroomError:
    return explained(reported(fail), REQUEST)


def test_a_page_yt_dlp_does_not_support_is_final_and_says_what_is_accepted() -> None:
    error = chosen(raising(UnsupportedError(PAGE)))
    assert type(error) is EditFailed
    assert str(error).startswith("no media found to import; accepted: recorded media")
    assert f"Unsupported URL: {PAGE}" in str(error)


def test_no_format_as_asked_is_final_without_the_command_lines_advice() -> None:
    message = "Requested format is not available. Use --list-formats for a list of formats"
    error = chosen(raising(ExtractorError(message, expected=True)))
    assert type(error) is EditFailed
    assert "Requested format is not available" in str(error)


@pytest.mark.parametrize(
    ("status", "chosen_class"),
    [
        (400, EditFailed),
        (403, EditFailed),
        (404, EditFailed),
        (410, EditFailed),
        (408, ImportUnavailable),  # "try later", in the HTTP's words
        (429, ImportUnavailable),
        (500, ImportUnavailable),
        (503, ImportUnavailable),
    ],
)
def test_an_http_answer_is_judged_by_its_status(
    status: int, chosen_class: type[EditroomError]
) -> None:
    error = chosen(page_failing_with(answer(status, "Whatever")))
    assert type(error) is chosen_class
    assert error.retryable is (chosen_class is ImportUnavailable)


def test_the_status_decides_whatever_the_text_says() -> None:
    """A 404 whose reason reads like a network failure is still the server's refusal;
    a network failure whose text reads like a 404 is still retried."""
    reset = "the site said: connection reset by peer"
    refused = chosen(page_failing_with(answer(404, "Connection Reset"), said=reset))
    assert type(refused) is EditFailed
    assert str(refused).startswith(f"the server refused: {reset}")
    lost = chosen(page_failing_with(TransportError("HTTP Error 404: Unsupported URL")))
    assert type(lost) is ImportUnavailable
    assert lost.retryable
    failing = chosen(page_failing_with(answer(500, "HTTP Error 404: larger than max-filesize")))
    assert type(failing) is ImportUnavailable


def test_an_extractors_own_bug_is_retried_whatever_the_text_says() -> None:
    """Not expected by the extractor (a site it no longer understands): retried, even when
    its words are those of an unsupported page."""
    error = chosen(raising(ExtractorError("Unsupported URL: no video formats", expected=False)))
    assert type(error) is ImportUnavailable


def test_a_redirect_to_a_file_url_answered_as_it_is_is_refused() -> None:
    """urllib refuses a redirect to file: itself, answering the 302: its Location decides."""
    redirect = answer(302, "Found", Location="file:///etc/passwd")
    error = chosen(page_failing_with(redirect))
    assert type(error) is ImportRefused
    assert str(error) == (
        "the server redirected to a file: URL; only http and https URLs can be imported, "
        "redirects included"
    )
    elsewhere = chosen(page_failing_with(answer(302, "Found", Location="/elsewhere")))
    assert type(elsewhere) is EditFailed  # a redirect not followed, to http: not a refusal


def test_a_request_error_raised_as_it_is_is_retried() -> None:
    error = explained(RequestError("No connection adapters were found for 'file:///x'"), REQUEST)
    assert type(error) is ImportUnavailable


@pytest.mark.parametrize("library", ["requests", "urllib"])
@pytest.mark.parametrize(
    ("kind", "expected"),
    [("not-http", EditFailed), ("cut-status-line", ImportUnavailable)],
)
def test_a_status_line_cut_short_is_retried_and_another_protocol_is_not(
    library: str,
    kind: str,
    expected: type[EditroomError],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A whole line that is no status line (SSH's greeting) is the server's protocol, the same
    on every try; "HTTP/1.1 5", then the connection closed, is a server that stopped midway."""
    youtube_dl: Any = importlib.import_module("yt_dlp.YoutubeDL")
    monkeypatch.setattr(youtube_dl, "_REQUEST_HANDLERS", handlers_of(library))
    with (
        web_server({"/clip.mp4": malformed(kind)}) as base_url,
        yt_dlp.YoutubeDL({"logger": _Quiet(), "proxy": "", "retries": 0}) as ydl,
        pytest.raises(DownloadError) as failed,
    ):
        ydl.download([f"{base_url}/clip.mp4"])
    assert type(explained(failed.value, REQUEST)) is expected


def test_a_declared_size_over_the_limit_stops_the_media_before_it_is_read(
    tmp_path: Path,
) -> None:
    """The media's answer declares its size (Content-Length): over the limit, the download
    stops there, with the size in the message (yt-dlp's own max_filesize is not set here)."""
    options: yt_dlp._YoutubeDLOptions = {
        "outtmpl": {"default": str(tmp_path / "import.%(ext)s")},
        "logger": _Quiet(),
        "proxy": "",
    }
    with (
        web_server({"/big.mp4": serve_bytes(b"\0" * 5000, "video/mp4")}) as base_url,
        _Importer(options, max_bytes=4999) as ydl,
        pytest.raises(EditFailed) as caught,
    ):
        ydl.download([f"{base_url}/big.mp4"])
    assert str(caught.value) == (
        "the server declared 5,000 bytes, more than the import's limit of 4,999 bytes "
        "(EDITROOM_IMPORT_MAX_BYTES); nothing was downloaded"
    )
    assert [path.name for path in tmp_path.iterdir()] == []
