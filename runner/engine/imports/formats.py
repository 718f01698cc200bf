"""Which of a page's formats an import may download: fetched by yt-dlp itself over http(s),
as one file or as a recorded HLS stream's segments (yt-dlp's own HLS downloader, in Python),
never a live stream. Anything else would hand the download to a helper program (ffmpeg for
live HLS and DASH, rtmpdump, mpv...), which resolves names and connects on its own, out of the
guard's reach. The selector asks for such formats only; `FormatCheck` checks what was chosen,
just before the download, in case an extractor labelled a format oddly."""

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from yt_dlp.postprocessor.common import PostProcessor

from runner.engine.imports.guard import SCHEMES
from runner.engine.imports.request import ImportRequest
from service.kernel.errors import EditFailed
from service.kernel.excerpt import excerpt

# yt-dlp's protocols it fetches itself over http(s): those that start with "http" (plain
# files, and DASH segments) and "m3u8_native" (HLS, segment by segment). Plain "m3u8" (HLS
# through ffmpeg), RTMP, RTSP, MMS, F4M, ISM and websockets are not.
FETCHED_NATIVELY = ("[protocol^=http]", "[protocol=m3u8_native]")
NATIVE_HLS = "m3u8_native"
LIVE_STATUSES = ("is_live", "is_upcoming", "post_live")
ACCEPTED = "recorded media downloaded over http(s), as one file or as an HLS stream"


def selector(request: ImportRequest) -> str:
    """yt-dlp format selection: no merging (it would need ffmpeg), fetched natively; for each
    choice a plain file first, then a recorded HLS stream. With `max_height`, the formats
    known to fit come first, then those whose height is unknown: a direct link's one file,
    whose height yt-dlp learns only from its bytes. A format known to be taller never is."""
    if request.format == "audio":
        choices = ["bestaudio", "best"]
    elif request.format == "mp4":
        choices = ["best[ext=mp4]", "best", "bestvideo[ext=mp4]", "bestvideo"]
    else:
        choices = ["best", "bestvideo"]
    if request.max_height and request.format != "audio":
        fits, unknown = f"[height<={request.max_height}]", f"[height<=?{request.max_height}]"
        choices = [choice + fits for choice in choices] + [choice + unknown for choice in choices]
    return "/".join(f"{choice}{protocol}" for choice in choices for protocol in FETCHED_NATIVELY)


def check_chosen(info: Mapping[str, Any]) -> None:
    """Refuse a live stream, or a chosen format not fetched over http(s) by yt-dlp itself."""
    page = info.get("webpage_url") or info.get("url") or "the URL"
    if info.get("is_live") or info.get("live_status") in LIVE_STATUSES:
        raise EditFailed(f"{page} is a live stream, which is not imported; accepted: {ACCEPTED}")
    for chosen in info.get("requested_formats") or [info]:
        protocol = str(chosen.get("protocol") or "")
        if not (protocol.startswith("http") or protocol == NATIVE_HLS):
            raise EditFailed(
                f"the media of {page} is streamed over {protocol or 'an unknown protocol'}, "
                f"which is not imported; accepted: {ACCEPTED}"
            )
        for url in _urls(chosen):
            if urlsplit(url).scheme.lower() not in SCHEMES:
                raise EditFailed(
                    f"the media of {page} is at {excerpt(url)}, which is not http(s); "
                    f"accepted: {ACCEPTED}"
                )


def _urls(chosen: Mapping[str, Any]) -> Iterator[str]:
    for key in ("url", "fragment_base_url"):
        if chosen.get(key):
            yield str(chosen[key])
    for fragment in chosen.get("fragments") or []:
        if isinstance(fragment, Mapping) and fragment.get("url"):
            yield str(fragment["url"])


class FormatCheck(PostProcessor):
    """Runs `check_chosen` in yt-dlp's `before_dl` stage: after the format is chosen, before a
    byte of it is fetched."""

    def run(self, information: Any) -> tuple[list[str], Any]:
        check_chosen(information)
        return [], information


def no_format_message(request: ImportRequest, reason: str) -> str:
    wanted = [ACCEPTED]
    if request.format == "mp4":
        wanted.append("preferably MP4")
    if request.max_height:
        wanted.append(f"at most {request.max_height} pixels high")
    return f"no media found to import; accepted: {', '.join(wanted)} ({reason})"
