"""POST /bucket/import against HTTP servers the tests run on loopback, and a real runner.

Loopback is private, so these tests allow private addresses, except those that prove the
refusal, which leave EDITROOM_IMPORT_ALLOW_PRIVATE unset."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import Conn, disable_backoff
from tests.runner_harness import running_runner
from tests.scratch import left_behind
from tests.web import (
    compressed,
    huge_page,
    lying_about_length,
    malformed,
    redirect_to,
    serve_bytes,
    trickling,
    web_server,
)

LIMIT_BYTES = 5 * 1024 * 1024
# A live DASH stream (type="dynamic") whose one representation is a plain file: yt-dlp would
# fetch it over http, but a live stream is refused (live HLS and DASH need ffmpeg).
LIVE_DASH = b"""<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" minimumUpdatePeriod="PT2S"
     availabilityStartTime="2026-01-01T00:00:00Z" profiles="urn:mpeg:dash:profile:isoff-live:2011">
  <Period id="1" start="PT0S"><AdaptationSet mimeType="video/mp4">
    <Representation id="v" bandwidth="200000" width="160" height="120" codecs="avc1.64000c">
      <BaseURL>clip.mp4</BaseURL>
    </Representation>
  </AdaptationSet></Period>
</MPD>"""
# A finished HLS stream, one segment: fetched by yt-dlp's own HLS downloader.
RTMP_PAGE = b'<html><body><video src="rtmp://127.0.0.1:1935/vod/clip"></video></body></html>'
# A script FFmpeg's concat demuxer reads; it refuses to open the file it names (EPERM).
FFCONCAT = b"ffconcat version 1.0\nfile /etc/passwd\n"
HLS_PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nclip.ts\n#EXT-X-ENDLIST\n"


@pytest.fixture
def clip(tmp_path: Path) -> bytes:
    return media.write_video(tmp_path / "clip.mp4", seconds=2.0, size=(160, 120)).read_bytes()


@pytest.fixture
def site(clip: bytes, tmp_path: Path) -> Iterator[str]:
    stop = threading.Event()
    audio = media.write_audio_only(tmp_path / "song.ogg").read_bytes()
    page = b'<html><body><h1>Holiday</h1><video src="/media/clip.mp4"></video></body></html>'
    segment = media.write_video(tmp_path / "clip.ts", container="mpegts", seconds=2.0).read_bytes()
    with web_server({
        "/media/clip.mp4": serve_bytes(clip, "video/mp4", pause_seconds=0.02),
        "/media/clip.ts": serve_bytes(segment, "video/mp2t"),
        "/media/live.mpd": serve_bytes(LIVE_DASH, "application/dash+xml"),
        "/media/hls.m3u8": serve_bytes(HLS_PLAYLIST, "application/vnd.apple.mpegurl"),
        "/watch": serve_bytes(page, "text/html"),
        "/rtmp": serve_bytes(RTMP_PAGE, "text/html"),
        "/notes.txt": serve_bytes(b"just words\n" * 200, "text/plain"),
        "/list.ffconcat": serve_bytes(FFCONCAT, "application/octet-stream"),
        "/song.ogg": serve_bytes(audio, "audio/ogg"),
        "/liar.mp4": lying_about_length(4 * LIMIT_BYTES),
        "/slow.mp4": trickling(declared_bytes=10**6, seconds_per_byte=0.2, stop=stop),
        "/too-big.mp4": serve_bytes(b"\0" * (LIMIT_BYTES + 1), "video/mp4"),
    }) as base_url:  # fmt: skip
        yield base_url
        stop.set()


# One <video>, three sources: what the import gets depends on format and max_height.
CHOICES_PAGE = b"""<html><body><video controls>
<source src="/media/tall.webm" type="video/webm" width="320" height="240">
<source src="/media/mid.mp4" type="video/mp4" width="240" height="180">
<source src="/media/short.webm" type="video/webm" width="160" height="120">
</video></body></html>"""


def webm(path: Path, *, size: tuple[int, int]) -> Path:
    return media.write_video(
        path, container="webm", vcodec="libvpx-vp9", acodec="libopus", size=size
    )


@pytest.fixture
def choices(tmp_path: Path) -> Iterator[str]:
    """A page offering one video in three formats; yields its URL."""
    videos = {
        "tall.webm": webm(tmp_path / "tall.webm", size=(320, 240)),
        "mid.mp4": media.write_video(tmp_path / "mid.mp4", size=(240, 180)),
        "short.webm": webm(tmp_path / "short.webm", size=(160, 120)),
    }
    routes = {
        f"/media/{name}": serve_bytes(path.read_bytes(), f"video/{name.rsplit('.', 1)[1]}")
        for name, path in videos.items()
    }
    with web_server({**routes, "/choices": serve_bytes(CHOICES_PAGE, "text/html")}) as base_url:
        yield f"{base_url}/choices"


def importing(database_url: str, data_dir: Path, conn: Conn, **settings: Any) -> Iterator[Api]:
    disable_backoff(conn)
    config = quick_settings(database_url, data_dir, import_max_bytes=LIMIT_BYTES, **settings)
    with running_api(config) as api, running_runner(config):
        yield api


@pytest.fixture
def api(database_url: str, tmp_path: Path, conn: Conn) -> Iterator[Api]:
    """A time limit no import here comes near, even on a loaded machine (a page with a video
    took over 8 s under a load of 8 on 2 cores)."""
    yield from importing(
        database_url, tmp_path / "data", conn, import_allow_private=True, import_timeout_seconds=30
    )


@pytest.fixture
def hurried_api(database_url: str, tmp_path: Path, conn: Conn) -> Iterator[Api]:
    """A short time limit, for the import that must run out of it (waited out in full)."""
    yield from importing(
        database_url, tmp_path / "data", conn, import_allow_private=True, import_timeout_seconds=3
    )


@pytest.fixture
def strict_api(database_url: str, tmp_path: Path, conn: Conn) -> Iterator[Api]:
    """EDITROOM_IMPORT_ALLOW_PRIVATE unset; only 127.0.0.1 named as an allowed network."""
    yield from importing(
        database_url, tmp_path / "data", conn, import_allowed_networks="127.0.0.1/32"
    )


def run_import(api: Api, url: str, **params: str) -> dict[str, Any]:
    response = api.client.post("/bucket/import", params={"url": url, "wait": "45", **params})
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] in ("completed", "failed"), body
    return body


def imported(api: Api, job: dict[str, Any]) -> dict[str, Any]:
    (output,) = job["outputs"]
    body: dict[str, Any] = api.client.get(output["url"]).json()
    return body


def test_a_direct_link(api: Api, site: str, clip: bytes) -> None:
    job = run_import(api, f"{site}/media/clip.mp4")
    assert job["status"] == "completed", job["error"]
    assert job["media_id"] is None
    assert job["ops"] == [{"op": "import", "url": f"{site}/media/clip.mp4", "format": "best",
                           "max_height": None}]  # fmt: skip
    media_row = imported(api, job)
    assert (media_row["kind"], media_row["size_bytes"]) == ("video", len(clip))
    assert media_row["original_name"] == "clip.mp4"
    assert media_row["source_edit_id"] == job["id"]
    assert job["progress_detail"] == {"bytes": len(clip), "total_bytes": len(clip)}
    # An original, as an upload is: listed with them, not with edits' outputs.
    assert media_row["origin"] == "import"
    listed = {
        origin: [
            item["id"] for item in api.client.get(f"/bucket/upload?origin={origin}").json()["items"]
        ]
        for origin in ("upload", "edit")
    }
    assert listed == {"upload": [media_row["id"]], "edit": []}


def test_a_direct_link_with_a_max_height_is_imported(api: Api, site: str, clip: bytes) -> None:
    """A file offers no choice of heights, and yt-dlp learns its height only from its bytes:
    `max_height` (the README's own import) refused every direct link, 'Requested format is
    not available'."""
    job = run_import(api, f"{site}/media/clip.mp4", format="mp4", max_height="720")
    assert job["status"] == "completed", job["error"]
    assert imported(api, job)["size_bytes"] == len(clip)


def test_a_page_with_a_video(api: Api, site: str, clip: bytes) -> None:
    job = run_import(api, f"{site}/watch")
    assert job["status"] == "completed", job["error"]
    assert imported(api, job)["size_bytes"] == len(clip)


@pytest.mark.parametrize(
    ("params", "content_type", "size"),
    [
        ({}, "video/webm", (320, 240)),
        ({"format": "mp4"}, "video/mp4", (240, 180)),
        ({"max_height": "144"}, "video/webm", (160, 120)),
        ({"format": "mp4", "max_height": "144"}, "video/webm", (160, 120)),  # no MP4 that small
    ],
    ids=["best", "mp4", "max-height", "mp4-max-height"],
)
def test_format_and_max_height_choose_among_a_pages_formats(
    api: Api, choices: str, params: dict[str, str], content_type: str, size: tuple[int, int]
) -> None:
    job = run_import(api, choices, **params)
    assert job["status"] == "completed", job["error"]
    row = imported(api, job)
    assert (row["content_type"], row["width"], row["height"]) == (content_type, *size)


def test_the_same_bytes_again_are_the_same_media(api: Api, site: str, clip: bytes) -> None:
    upload = api.upload(clip).json()
    job = run_import(api, f"{site}/media/clip.mp4")
    assert job["outputs"][0]["id"] == upload["id"]


def test_audio_becomes_a_video_with_its_sound(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/song.ogg", format="audio")
    assert job["status"] == "completed", job["error"]
    row = imported(api, job)
    assert (row["kind"], row["codecs"]) == ("video", {"video": "h264", "audio": "aac"})


def test_progress_streams_bytes(api: Api, site: str, clip: bytes) -> None:
    response = api.client.post("/bucket/import", params={"url": f"{site}/media/clip.mp4"})
    details = []
    with api.client.stream("GET", response.json()["events_url"]) as events:
        for line in events.iter_lines():
            if line.startswith("data: "):
                details.append(json.loads(line.removeprefix("data: "))["progress_detail"])
    seen = [detail["bytes"] for detail in details if detail]
    assert seen == sorted(seen)
    assert seen[-1] == len(clip)


def test_a_non_media_file_fails_with_the_reason(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/notes.txt")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert "not an image or a video" in job["error"]


def test_an_ffconcat_script_fails_once_as_the_files_fault(api: Api, site: str) -> None:
    """FFmpeg refusing what the script names is not our disk's trouble: no retry."""
    job = run_import(api, f"{site}/list.ffconcat")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert "not an image or a video" in job["error"]
    assert str(api.settings.data_dir) not in job["error"]


def test_a_server_lying_about_its_size_is_stopped_at_the_limit(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/liar.mp4")
    assert job["status"] == "failed"
    assert f"stopped at {LIMIT_BYTES:,} bytes" in job["error"]


def test_a_server_saying_it_is_too_big_is_not_read(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/too-big.mp4")
    assert job["status"] == "failed"
    assert job["error"] == (
        f"the server declared {LIMIT_BYTES + 1:,} bytes, more than the import's limit of "
        f"{LIMIT_BYTES:,} bytes (EDITROOM_IMPORT_MAX_BYTES); nothing was downloaded"
    )


def test_a_huge_page_is_stopped_at_the_limit(api: Api) -> None:
    """The limit counts every byte received, not only the media's: yt-dlp reads a page whole
    to look for media in it."""
    page_bytes = 20 * LIMIT_BYTES
    sent: list[int] = []
    with web_server({"/huge": huge_page(page_bytes, sent=sent)}) as base_url:
        job = run_import(api, f"{base_url}/huge")
    assert job["status"] == "failed"
    assert job["trial"] == 1  # not retried
    assert f"stopped at {LIMIT_BYTES:,} bytes" in job["error"]
    assert sent
    assert sent[0] < page_bytes


def test_a_compression_bomb_is_stopped_at_the_limit(api: Api, conn: Conn) -> None:
    """64 KiB received, gzip that decodes to 64 times the limit: the limit counts what it
    decodes to too. It used to be written out whole, the limit only ever seeing 64 KiB."""
    bomb = compressed(b"\0" * (64 * LIMIT_BYTES), "video/mp4")
    with web_server({"/bomb.mp4": bomb}) as base_url:
        job = run_import(api, f"{base_url}/bomb.mp4")
    assert job["status"] == "failed"
    assert job["trial"] == 1  # not retried
    assert job["error"] == (
        f"the import was stopped at {LIMIT_BYTES:,} bytes, its limit (EDITROOM_IMPORT_MAX_BYTES), "
        "counting what the server's compressed answer (Content-Encoding: gzip) decompresses to"
    )
    assert conn.execute("SELECT count(*) AS n FROM editroom.media").fetchone() == {"n": 0}
    assert left_behind(api.settings.edits_dir) == []


@pytest.mark.parametrize("kind", ["not-http", "long-header", "many-headers"])
def test_an_answer_that_is_not_http_fails_once(api: Api, kind: str) -> None:
    """Another protocol on the port, a header line over 64 KiB, over 100 headers: the same
    on every try, so not retried (it was, as a network failure)."""
    with web_server({"/clip.mp4": malformed(kind)}) as base_url:
        job = run_import(api, f"{base_url}/clip.mp4")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert job["error"].startswith("the server's answer is not HTTP editroom can read: ")


def test_a_live_stream_is_refused(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/media/live.mpd")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert "is a live stream, which is not imported" in job["error"]
    assert "accepted: recorded media downloaded over http(s)" in job["error"]


def test_a_recorded_hls_stream_is_imported(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/media/hls.m3u8")
    assert job["status"] == "completed", job["error"]
    (output,) = job["outputs"]
    imported = api.client.get(output["url"]).json()
    assert (imported["kind"], imported["content_type"]) == ("video", "video/mp2t")  # joined
    assert imported["duration_seconds"] == pytest.approx(2.0, abs=0.2)


def test_a_stream_a_helper_program_would_fetch_is_refused(api: Api, site: str) -> None:
    job = run_import(api, f"{site}/rtmp")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert "accepted: recorded media downloaded over http(s)" in job["error"]


def test_a_slow_server_runs_out_of_time(hurried_api: Api, site: str) -> None:
    job = run_import(hurried_api, f"{site}/slow.mp4")
    assert job["status"] == "failed"
    assert "time limit of 3 s" in job["error"]


def test_private_addresses_are_refused_before_queueing(strict_api: Api, conn: Conn) -> None:
    response = strict_api.client.post("/bucket/import", params={"url": "http://127.0.0.5:9/x.mp4"})
    assert response.status_code == 422
    assert response.json()["parameter"] == "url"
    assert "a loopback address" in response.json()["detail"]
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def test_a_redirect_to_a_private_address_is_refused(strict_api: Api) -> None:
    with web_server({"/go": redirect_to("http://127.0.0.2:9/secret.mp4")}) as base_url:
        job = run_import(strict_api, f"{base_url}/go")
    assert job["status"] == "failed"
    assert "127.0.0.2 resolves to 127.0.0.2, a loopback address" in job["error"]
    assert job["trial"] == 1


@pytest.fixture
def listed_api(database_url: str, tmp_path: Path, conn: Conn) -> Iterator[Api]:
    """Only `localhost` (and its subdomains) on the domain allow-list."""
    yield from importing(
        database_url, tmp_path / "data", conn, import_allow_private=True,
        import_allowed_domains="localhost",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("http://elsewhere.example:{port}/media/clip.mp4",
         "elsewhere.example is not on the import allow-list (EDITROOM_IMPORT_ALLOWED_DOMAINS: "
         "localhost)"),
        ("http://127.0.0.1:{port}/media/clip.mp4",
         "127.0.0.1: addresses are refused while an allow-list of domains is set"),
    ],
    ids=["other-domain", "address"],
)  # fmt: skip
def test_the_domain_allow_list_holds_for_redirects(
    listed_api: Api, site: str, target: str, message: str
) -> None:
    port = site.rsplit(":", 1)[1]
    allowed = site.replace("127.0.0.1", "localhost")
    direct = run_import(listed_api, f"{allowed}/media/clip.mp4")
    assert direct["status"] == "completed", direct["error"]  # the allow-list lets localhost in
    with web_server({"/go": redirect_to(target.format(port=port))}) as base_url:
        job = run_import(listed_api, f"{base_url.replace('127.0.0.1', 'localhost')}/go")
    assert job["status"] == "failed"
    assert message in job["error"]
    assert job["trial"] == 1


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({}, "url"),
        ({"url": "ftp://example.com/a.mp4"}, "url"),
        ({"url": "https://nonexistent.invalid/a.mp4"}, "url"),
        ({"url": "http://[::1/a.mp4"}, "url"),  # malformed: was an internal error
        ({"url": "http://example.com:99999/a.mp4"}, "url"),  # a port out of range: likewise
        ({"url": "http://a..b/x.mp4"}, "url"),  # an empty label: likewise (IDNA)
        ({"url": f"http://{'a' * 64}.example/x.mp4"}, "url"),  # a label over 63 characters
        ({"url": "http://%E2%80%AE.example/x.mp4"}, "url"),  # a character IDNA forbids
        ({"url": "http://93.184.216.34/a\x00b.mp4"}, "url"),  # NUL: was JSON's words, unnamed
        ({"url": "http://93.184.216.34/a\nb.mp4"}, "url"),  # a control character, kept stored
        ({"url": "http://93.184.216.34:0/a.mp4"}, "url"),  # port 0: was queued, then retried
        ({"url": "https://example.com/a", "format": "flac"}, "format"),
        ({"url": "https://example.com/a", "max_height": "10"}, "max_height"),
        ({"url": "https://example.com/a", "quality": "hd"}, "quality"),
    ],
)
def test_bad_requests_are_named(strict_api: Api, params: dict[str, str], parameter: str) -> None:
    response = strict_api.client.post("/bucket/import", params=params)
    assert response.status_code == 422
    assert response.json()["parameter"] == parameter


@pytest.fixture
def impatient_api(database_url: str, tmp_path: Path, conn: Conn) -> Iterator[Api]:
    """At least 1,000 bytes a second over every 2 s; a generous time limit and socket timeout,
    so that only the transfer floor can stop a trickle."""
    yield from importing(
        database_url, tmp_path / "data", conn, import_allow_private=True,
        import_min_bytes_per_second=1000, import_rate_window_seconds=2,
        import_timeout_seconds=120, import_socket_timeout_seconds=30,
    )  # fmt: skip


def test_a_trickling_server_is_stopped_by_the_transfer_floor(
    impatient_api: Api, conn: Conn
) -> None:
    """A byte every 2 s never trips the 30 s socket timeout; the floor stops it in seconds."""
    stop = threading.Event()
    route = trickling(declared_bytes=10**6, seconds_per_byte=2.0, stop=stop)
    try:
        with web_server({"/trickle.mp4": route}) as base_url:
            job = run_import(impatient_api, f"{base_url}/trickle.mp4")
    finally:
        stop.set()
    assert job["status"] == "failed"
    assert job["trial"] == 1  # not retried: a slow peer gets one slot, once
    error = job["error"]
    assert "below the minimum of 1,000 bytes per second over 2 s" in error
    assert "(EDITROOM_IMPORT_MIN_BYTES_PER_SECOND, EDITROOM_IMPORT_RATE_WINDOW_SECONDS)" in error
    assert conn.execute("SELECT count(*) AS n FROM editroom.media").fetchone() == {"n": 0}
    work = impatient_api.settings.edits_dir
    assert left_behind(work) == []


def test_a_redirect_to_a_file_url_is_refused_saying_so(api: Api) -> None:
    with web_server({"/go": redirect_to("file:///etc/passwd")}) as base_url:
        job = run_import(api, f"{base_url}/go")
    assert job["status"] == "failed"
    assert job["trial"] == 1
    assert job["error"] == (
        "the server redirected to a file: URL; only http and https URLs can be imported, "
        "redirects included"
    )


SLOW_LOOKUP_SECONDS = 4.0  # a name server that takes its time (glibc's own wait is 5 s a try)


def test_slow_name_lookups_leave_the_service_its_threads(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Imports of hosts whose names resolve slowly, more at once than the event loop has
    threads: they used to take every one of them (the loop's default executor, which reading
    and writing media use too), so a download of a stored picture waited for them."""
    real_lookup = socket.getaddrinfo

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if str(host).endswith(".slow.test"):
            time.sleep(SLOW_LOOKUP_SECONDS)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with running_api(quick_settings(database_url, tmp_path / "data")) as api:
        photo = api.upload(media.image_bytes("PNG", size=(40, 30)), filename="p.png").json()
        with ThreadPoolExecutor(12) as pool:
            imports = [
                pool.submit(api.client.post, "/bucket/import", params={"url": f"http://h{n}.slow.test/"})
                for n in range(12)
            ]  # fmt: skip
            time.sleep(0.5)  # every import is looking its host up by now
            started = time.monotonic()
            content = api.client.get(photo["content_url"])
            took = time.monotonic() - started
            answers = [future.result(timeout=60) for future in imports]

    assert content.status_code == 200
    assert took < SLOW_LOOKUP_SECONDS / 2, f"the download waited {took:.1f} s for a thread"
    for answer in answers:  # a lookup that could not start at once is told to try again
        assert answer.status_code in (422, 503), answer.text
        if answer.status_code == 503:
            assert answer.headers["retry-after"]
        else:
            assert answer.json()["parameter"] == "url"


def test_imports_waiting_to_run_are_capped_apart_so_edits_are_still_admitted(
    database_url: str, tmp_path: Path
) -> None:
    """An import may hold a runner's import slot for its whole time limit (30 min), a few at
    once: a flood of them used to fill EDITROOM_MAX_QUEUED, and every edit was then refused
    for as long as they took to drain."""
    config = quick_settings(database_url, tmp_path / "data", max_queued=5, max_queued_imports=2)
    with running_api(config) as api:  # no runner: what is queued stays queued
        photo = api.upload(media.image_bytes("PNG", size=(40, 30)), filename="p.png").json()
        answers = [
            api.client.post("/bucket/import", params={"url": f"http://93.184.216.34/{n}.mp4"})
            for n in range(3)
        ]
        edit = api.client.post("/edit", params={"media": photo["id"], "flip": "h"})

    assert [answer.status_code for answer in answers] == [202, 202, 429]
    assert "EDITROOM_MAX_QUEUED_IMPORTS" in answers[2].json()["detail"]
    assert answers[2].headers["retry-after"]
    assert edit.status_code == 202, edit.text
