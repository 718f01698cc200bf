"""/bucket/upload through the real app, database, sandbox and storage (local and S3)."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from service.kernel.errors import SandboxInternalError, SandboxIOError, SandboxOutOfMemory
from tests import media
from tests.api import Api, api_settings, running_api
from tests.queue import Conn, enqueue
from tests.s3 import S3Endpoint

IMAGES = {
    "jpeg": (media.image_bytes("JPEG"), "image/jpeg", (64, 48)),
    "cmyk-jpeg": (media.image_bytes("JPEG", mode="CMYK"), "image/jpeg", (64, 48)),
    "exif-rotated-jpeg": (media.exif_rotated_jpeg(), "image/jpeg", (48, 64)),
    "png": (media.image_bytes("PNG", mode="RGBA"), "image/png", (64, 48)),
    "webp": (media.image_bytes("WEBP"), "image/webp", (64, 48)),
    "animated-gif": (media.animated("GIF"), "image/gif", (32, 24)),
    "tiff": (media.image_bytes("TIFF"), "image/tiff", (64, 48)),
    "avif": (media.image_bytes("AVIF"), "image/avif", (64, 48)),
}
VIDEOS: dict[str, dict[str, Any]] = {
    "mp4-h264-aac": {},
    "webm-vp9-opus": {"container": "webm", "vcodec": "libvpx-vp9", "acodec": "libopus"},
    "mkv": {"container": "matroska"},
    "mov": {"container": "mov"},
    "mp4-no-audio": {"acodec": None},
}
CODECS = {
    "mp4-h264-aac": {"video": "h264", "audio": "aac"},
    "webm-vp9-opus": {"video": "vp9", "audio": "opus"},
    "mkv": {"video": "h264", "audio": "aac"},
    "mov": {"video": "h264", "audio": "aac"},
    "mp4-no-audio": {"video": "h264", "audio": None},
}


@pytest.fixture(params=["local", "s3"])
def api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, s3_endpoint: S3Endpoint
) -> Iterator[Api]:
    settings = api_settings(database_url, tmp_path / "data", request.param, s3_endpoint)
    with running_api(settings) as running:
        yield running


@pytest.fixture
def local_api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(api_settings(database_url, tmp_path / "data", "local", None)) as running:
        yield running


# Scripts FFmpeg's concat demuxer reads: it refuses (EPERM, ENOENT) to open what they name.
FFCONCAT_ABSOLUTE = b"ffconcat version 1.0\nfile /etc/passwd\n"
FFCONCAT_RELATIVE = b"ffconcat version 1.0\nfile passwd\n"
MULTIPART_ONLY = "multipart/form-data"
MULTIPART = {"content-type": f"{MULTIPART_ONLY}; boundary=xyz"}
PART_HEADER = b'--xyz\r\ncontent-disposition: form-data; name="file"; filename="a.png"\r\n\r\n'


def media_rows(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) AS n FROM editroom.media").fetchone()
    assert row is not None
    return int(row["n"])


def left_behind(api: Api) -> list[Path]:
    """Files in the local bucket and the uploads directory."""
    roots = [api.settings.bucket_dir, api.settings.uploads_dir]
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("name", IMAGES)
def test_images_upload_with_what_their_bytes_say(api: Api, name: str) -> None:
    content, content_type, (width, height) = IMAGES[name]
    response = api.upload(content, filename="holiday.dat")
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"/bucket/upload/{body['id']}"
    assert (body["kind"], body["content_type"]) == ("image", content_type)
    assert (body["width"], body["height"]) == (width, height)
    assert body["size_bytes"] == len(content)
    assert body["original_name"] == "holiday.dat"
    assert body["duplicate"] is False
    assert api.client.get(body["content_url"]).content == content


@pytest.mark.parametrize("name", VIDEOS)
def test_videos_upload_with_their_facts(api: Api, name: str, tmp_path: Path) -> None:
    path = media.write_video(tmp_path / "clip", seconds=1.0, fps=12, **VIDEOS[name])
    response = api.upload(path.read_bytes())
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "video"
    assert body["duration_seconds"] == pytest.approx(1.0, abs=0.1)
    assert body["frame_rate"] == pytest.approx(12)
    assert (body["width"], body["height"]) == (64, 48)
    assert body["codecs"] == CODECS[name]


def test_a_video_recorded_as_lasting_0_s_is_of_unknown_length(
    local_api: Api, conn: Conn, tmp_path: Path
) -> None:
    """Uploads before a header's 0 s counted as no duration recorded that 0, which every edit
    reads as an unknown length (known_seconds): the API answered 0, and the editor offered a
    trim of 0,0.000 of a video of 0.00 s."""
    content = media.write_video(tmp_path / "clip.mp4", acodec=None).read_bytes()
    uploaded = local_api.upload(content).json()
    conn.execute("UPDATE editroom.media SET duration_seconds = 0 WHERE id = %s", (uploaded["id"],))
    listed = local_api.client.get("/bucket/upload", params={"type": "video"}).json()["items"]
    answers = [
        local_api.client.get(f"/bucket/upload/{uploaded['id']}").json(),
        local_api.upload(content).json(),  # the same bytes again: the media uploaded before
        *listed,
    ]
    assert [(answer["id"], answer["duration_seconds"]) for answer in answers] == [
        (uploaded["id"], None)
    ] * 3


def test_a_video_that_plays_no_further_than_its_start_is_refused(
    local_api: Api, tmp_path: Path
) -> None:
    """Its header declares no length and every frame is at 0 s: it was recorded as lasting 0 s,
    which every edit reads as an unknown length, given the time of the longest video allowed."""
    content = media.live_at_its_start(tmp_path / "stacked.webm", frames=12).read_bytes()
    refused = local_api.upload(content)
    assert refused.status_code == 422
    assert refused.json()["detail"].startswith("the video has no playable length: ")


def test_a_raw_body_with_a_filename(api: Api) -> None:
    content = media.image_bytes("PNG")
    response = api.client.post(
        "/bucket/upload", content=content, params={"filename": "raw.png"},
        headers={"content-type": "text/plain"},  # the client's type is not believed
    )  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/png"
    assert response.json()["original_name"] == "raw.png"


def test_the_same_bytes_twice_are_one_media(api: Api, conn: Conn) -> None:
    content = media.image_bytes("JPEG", size=(80, 60))
    first = api.upload(content, filename="a.jpg")
    second = api.upload(content, filename="b.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["duplicate"] is True
    assert second.json()["id"] == first.json()["id"]
    assert media_rows(conn) == 1


def test_file_names_are_data_not_paths(local_api: Api) -> None:
    response = local_api.upload(media.image_bytes("PNG"), filename="../../../etc/cron.d/x.png")
    assert response.status_code == 201
    assert response.json()["original_name"] == "x.png"
    stored = left_behind(local_api)
    assert len(stored) == 1
    assert stored[0].is_relative_to(local_api.settings.bucket_dir)


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"just some text\n" * 100, 415, "accepted: images"),
        (media.image_bytes("JPEG", size=(300, 300))[:2000], 422, "truncated or corrupt"),
        (media.png_claiming_size(50_000, 50_000), 422, "EDITROOM_MAX_PIXELS"),
        (FFCONCAT_ABSOLUTE, 415, "accepted: images"),
        (FFCONCAT_RELATIVE, 415, "accepted: images"),
    ],
    ids=["text", "truncated-jpeg", "decompression-bomb", "ffconcat", "ffconcat-relative"],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    api: Api, conn: Conn, content: bytes, status: int, message: str
) -> None:
    response = api.upload(content)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert media_rows(conn) == 0
    assert left_behind(api) == []


@pytest.mark.parametrize("content", [FFCONCAT_ABSOLUTE, FFCONCAT_RELATIVE, b"truncated-mp4"])
def test_a_refusal_names_no_path_of_the_server(
    local_api: Api, tmp_path: Path, content: bytes
) -> None:
    """FFmpeg's errors name the file it read: a server path, never shown to the client."""
    if content == b"truncated-mp4":
        whole = media.write_video(tmp_path / "v.mp4", seconds=2.0).read_bytes()
        content = whole[: len(whole) // 2]
    response = local_api.upload(content)
    assert response.status_code in (415, 422)
    assert str(local_api.settings.data_dir) not in response.text
    assert "/" not in response.json()["detail"]


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"probe_timeout_seconds": 1e-6}, "took longer than"),
        ({"edit_memory_bytes": 1024**2}, "checking the file failed"),
    ],
    ids=["timeout", "crash"],
)
def test_a_check_that_times_out_or_dies_is_refused_and_leaves_nothing(
    database_url: str, tmp_path: Path, conn: Conn, setting: dict[str, float], message: str
) -> None:
    clip = media.write_video(tmp_path / "clip.mp4", seconds=1.0).read_bytes()
    (name,) = setting
    with running_api(
        api_settings(database_url, tmp_path / "data", "local", None, **setting)
    ) as api:
        response = api.upload(clip)
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert message in detail
        assert f"EDITROOM_{name.upper()}" in detail
        assert "accepted: images" in detail
        assert media_rows(conn) == 0
        assert left_behind(api) == []


def test_too_large_is_refused_as_soon_as_the_limit_is_crossed(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    settings = api_settings(database_url, tmp_path, "local", None, max_upload_bytes=10_000)
    with running_api(settings) as small:
        declared = small.upload(b"\xff\xd8\xff" + os.urandom(20_000))
        chunked = small.client.post(
            "/bucket/upload", content=iter([b"\x89PNG" + b"\0" * 6000] * 10)
        )
        assert declared.status_code == chunked.status_code == 413
        assert "EDITROOM_MAX_UPLOAD_BYTES" in chunked.json()["detail"]
        assert media_rows(conn) == 0
        assert left_behind(small) == []


def test_every_byte_of_a_form_counts_toward_the_limit(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    """A small file beside a huge other field: the form, sent without a length, is too large."""
    note = b'--xyz\r\ncontent-disposition: form-data; name="note"\r\n\r\n'
    parts = [note, *[b"n" * 5000] * 10, b"\r\n", PART_HEADER, media.image_bytes("PNG")]
    settings = api_settings(database_url, tmp_path, "local", None, max_upload_bytes=10_000)
    with running_api(settings) as small:
        response = small.client.post(
            "/bucket/upload", content=iter([*parts, b"\r\n--xyz--\r\n"]), headers=MULTIPART
        )
        assert response.status_code == 413
        assert "larger than 10,000 bytes (EDITROOM_MAX_UPLOAD_BYTES)" in response.json()["detail"]
        assert media_rows(conn) == 0
        assert left_behind(small) == []


@pytest.mark.parametrize(
    ("send", "message"),
    [
        ({"content": b""}, "the upload is empty"),
        ({"files": {"other": ("a.png", b"x")}}, "no field named 'file'"),
        ({"files": [("file", ("a", b"1")), ("file", ("b", b"2"))]}, "one file per upload"),
        ({"content": b"x", "params": {"name": "x"}}, "name='x': unknown parameter"),
        (
            {"content": b"no boundary in sight " * 50, "headers": MULTIPART},
            "the multipart body is malformed",
        ),
        (
            {"content": PART_HEADER + b"\x89PNG" + b"\0" * 500, "headers": MULTIPART},
            "the multipart body ends before its closing boundary",
        ),
        ({"content": b"x", "headers": {"content-type": MULTIPART_ONLY}}, "without a boundary"),
    ],
    ids=[
        "empty",
        "no-file-field",
        "two-files",
        "unknown-parameter",
        "not-multipart",
        "truncated-multipart",
        "no-boundary",
    ],
)
def test_malformed_uploads_say_what_is_wrong(
    local_api: Api, send: dict[str, Any], message: str
) -> None:
    response = local_api.client.post("/bucket/upload", **send)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert "accepted: " in response.json()["detail"]
    assert left_behind(local_api) == []


def test_a_part_with_endless_headers_is_refused(local_api: Api) -> None:
    """Its headers are kept while they are read: the parser bounds them."""
    header = b'--xyz\r\ncontent-disposition: form-data; name="file"; filename="'
    endless = [header, *[b"n" * 4096] * 8, b'"\r\n\r\nx\r\n--xyz--\r\n']
    response = local_api.client.post("/bucket/upload", content=iter(endless), headers=MULTIPART)
    assert response.status_code == 422
    assert "Maximum header size exceeded" in response.json()["detail"]
    assert left_behind(local_api) == []


def test_get_and_delete(api: Api, conn: Conn) -> None:
    uploaded = api.upload(media.image_bytes("GIF")).json()
    path = f"/bucket/upload/{uploaded['id']}"
    assert api.client.get(path).json()["sha256"] == uploaded["sha256"]
    assert api.client.delete(path).status_code == 204
    assert api.client.get(path).status_code == 404
    assert api.client.get(uploaded["content_url"]).status_code == 404
    assert media_rows(conn) == 0
    assert left_behind(api) == []


def test_unknown_and_malformed_ids(local_api: Api) -> None:
    missing = local_api.client.get("/bucket/upload/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "does not exist" in missing.json()["detail"]
    malformed = local_api.client.get("/bucket/upload/not-an-id")
    assert malformed.status_code == 422
    assert malformed.json()["parameter"] == "media_id"


def test_delete_is_refused_while_an_edit_reads_the_media(local_api: Api, conn: Conn) -> None:
    source = local_api.upload(media.image_bytes("PNG")).json()
    appended = local_api.upload(media.image_bytes("JPEG")).json()
    edit = enqueue(conn, source["id"], [{"op": "concat", "media": [appended["id"]]}])
    for busy in (source, appended):
        response = local_api.client.delete(f"/bucket/upload/{busy['id']}")
        assert response.status_code == 409
        assert f"is read by edit {edit['id']}, which is queued" in response.json()["detail"]
    conn.execute("SELECT editroom.cancel_edit(%s)", [edit["id"]])
    assert local_api.client.delete(f"/bucket/upload/{source['id']}").status_code == 204


@pytest.mark.parametrize(
    ("failure", "status", "message"),
    [
        (SandboxOutOfMemory("ran out of memory"), 422, "EDITROOM_EDIT_MEMORY_BYTES"),
        (SandboxInternalError("internal error in probe: KeyError: 'x'"), 422, "accepted: images"),
        (SandboxIOError("I/O error in probe: OSError: [Errno 5] EIO"), 503, "try again"),
    ],
    ids=["out-of-memory", "our-bug", "disk-trouble"],
)
def test_how_a_failed_check_is_answered(
    api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch, failure: Exception, status: int,
    message: str,
) -> None:  # fmt: skip
    async def failing(*args: object, **kwargs: object) -> None:
        raise failure

    library = api.client.app.state.library  # type: ignore[attr-defined]
    monkeypatch.setattr(library.sandbox, "run", failing)
    response = api.upload(media.image_bytes("PNG"))
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert media_rows(conn) == 0
    assert left_behind(api) == []


def test_a_delete_keeps_the_bytes_when_they_were_uploaded_again_meanwhile(
    local_api: Api, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = local_api.upload(media.image_bytes("PNG")).json()
    row = conn.execute("SELECT * FROM editroom.media WHERE id = %s", [first["id"]]).fetchone()
    assert row is not None
    again = {**row, "id": uuid4()}
    library = local_api.client.app.state.library  # type: ignore[attr-defined]
    delete_row = library.database.fetch_one

    async def deleted_then_uploaded_again(query: str, **params: Any) -> Any:
        deleted = await delete_row(query, **params)
        if query == "delete_media":  # the same bytes arrive as the row goes
            columns = ", ".join(again)
            values = ", ".join(f"%({name})s" for name in again)
            conn.execute(f"INSERT INTO editroom.media ({columns}) VALUES ({values})", again)
        return deleted

    monkeypatch.setattr(library.database, "fetch_one", deleted_then_uploaded_again)
    assert local_api.client.delete(f"/bucket/upload/{first['id']}").status_code == 204
    content = local_api.client.get(f"/bucket/upload/{again['id']}/content")
    assert content.status_code == 200
    assert content.content == media.image_bytes("PNG")
