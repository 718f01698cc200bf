"""Video edits end to end: upload, /edit, a runner with the real PyAV pipeline, outputs probed."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.kernel.settings import Settings
from tests import media
from tests.api import Api, quick_settings, running_api
from tests.queue import Conn, disable_backoff
from tests.runner_harness import running_runner


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return quick_settings(database_url, tmp_path / "data")


@pytest.fixture
def api(settings: Settings, conn: Conn) -> Iterator[Api]:
    disable_backoff(conn)
    with running_api(settings) as running, running_runner(settings):
        yield running


def upload_video(api: Api, tmp_path: Path, name: str, **options: Any) -> dict[str, Any]:
    path = media.write_video(tmp_path / name, **options)
    response = api.upload(path.read_bytes(), filename=name)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def run(api: Api, **params: str) -> dict[str, Any]:
    response = api.client.post("/edit", params={**params, "wait": "60"})
    body: dict[str, Any] = response.json()
    assert body["status"] == "completed", body
    return body


def outputs(api: Api, edit: dict[str, Any]) -> list[dict[str, Any]]:
    return [api.client.get(output["url"]).json() for output in edit["outputs"]]


def test_trim_and_convert(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=4.0, size=(128, 96), fps=25)
    (result,) = outputs(api, run(api, media=clip["id"], trim="1,3", format="webm"))
    assert result["content_type"] == "video/webm"
    assert result["duration_seconds"] == pytest.approx(2.0, abs=0.15)
    assert result["codecs"] == {"video": "vp9", "audio": "opus"}
    assert result["original_name"] == "clip-edited.webm"


def test_concat_appends_other_videos(api: Api, tmp_path: Path) -> None:
    first = upload_video(api, tmp_path, "a.mp4", seconds=1.0, size=(128, 96))
    second = upload_video(api, tmp_path, "b.mp4", seconds=2.0, size=(64, 48), acodec=None)
    (result,) = outputs(api, run(api, media=first["id"], concat=second["id"]))
    assert result["duration_seconds"] == pytest.approx(3.0, abs=0.2)
    assert (result["width"], result["height"]) == (128, 96)
    assert result["codecs"]["audio"] is not None


def test_live_recordings_are_edited_at_the_lengths_their_uploads_recorded(
    api: Api, tmp_path: Path, conn: Conn
) -> None:
    """A live WebM's header declares no duration: its upload records how far its picture
    plays, and the runner gives that to the edit, for its source and what it appends
    (tests/unit/video/test_robustness.py sees the edit not measure it again). The rows are
    made to record less than the data plays: the edit follows the rows, not a measurement."""
    live: dict[str, Any] = {"container": "webm", "vcodec": "libvpx-vp9", "acodec": "libopus"}
    first = upload_video(api, tmp_path, "first.webm", seconds=2.0, live=True, **live)
    second = upload_video(api, tmp_path, "second.webm", seconds=1.0, live=True, **live)
    assert first["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    for media_id, seconds in ((first["id"], 1.5), (second["id"], 0.5)):
        conn.execute(
            "UPDATE editroom.media SET duration_seconds = %s WHERE id = %s", (seconds, media_id)
        )
    (result,) = outputs(api, run(api, media=first["id"], trim="0.5", concat=second["id"]))
    assert result["duration_seconds"] == pytest.approx(1.5, abs=0.1)  # measured: 2.5 s


def test_a_video_whose_header_says_it_lasts_no_time_is_measured_limited_and_trimmed(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    """An MP4 whose header declares 0 s declares nothing: its upload records how far its
    picture plays (it recorded 0 s, and every trim was refused as starting past its end), and
    refuses it over EDITROOM_MAX_VIDEO_SECONDS."""
    disable_backoff(conn)
    path = tmp_path / "zero.mp4"
    media.declaring_no_length_mp4(media.write_video(path, acodec=None, seconds=2.0))
    settings = quick_settings(database_url, tmp_path / "data", max_video_seconds=3)
    with running_api(settings) as api, running_runner(settings):
        uploaded = api.upload(path.read_bytes(), filename="zero.mp4").json()
        assert uploaded["duration_seconds"] == pytest.approx(2.0, abs=0.1)
        (result,) = outputs(api, run(api, media=uploaded["id"], trim="0.5,1.5"))
        assert result["duration_seconds"] == pytest.approx(1.0, abs=0.1)
    media.declaring_no_length_mp4(media.write_video(path, acodec=None, seconds=4.0))
    with running_api(settings) as api:
        refused = api.upload(path.read_bytes(), filename="long.mp4")
    assert refused.status_code == 422
    assert "the limit is 3 s (EDITROOM_MAX_VIDEO_SECONDS)" in refused.json()["detail"]


@pytest.mark.parametrize("name", ["one-frame.mp4", "one-frame.mov"])
def test_a_picture_ending_before_its_sound_is_trimmed_past_its_picture(
    api: Api, tmp_path: Path, name: str
) -> None:
    """One frame, then 5 s of sound: the upload recorded the picture's 0.083 s (its track's
    own length), and trim=0.1,3 was refused before queueing as starting past the video's end.
    A player shows the frame for 5 s, and the trim holds it for all of its 2.9 s."""
    container = name.rsplit(".", 1)[1]
    clip = upload_video(
        api, tmp_path, name, container=container, seconds=1 / 12, fps=12, sound_seconds=5.0
    )
    assert clip["duration_seconds"] == pytest.approx(5.0, abs=0.03)
    (result,) = outputs(api, run(api, media=clip["id"], trim="0.1,3"))
    assert result["duration_seconds"] == pytest.approx(2.9, abs=0.03)


def test_concat_of_media_that_is_not_a_video_is_refused(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "a.mp4")
    picture = api.upload(media.image_bytes("PNG")).json()
    response = api.client.post("/edit", params={"media": clip["id"], "concat": picture["id"]})
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"concat='{picture['id']}': is image")


def test_best_frames_become_image_media(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=3.0, size=(128, 96), fps=12)
    stills = outputs(api, run(api, media=clip["id"], frames="best:3"))
    assert len(stills) == 3
    assert {still["kind"] for still in stills} == {"image"}
    assert [still["original_name"] for still in stills] == [
        "clip-01.jpg",
        "clip-02.jpg",
        "clip-03.jpg",
    ]
    # The library, newest first, lists them in their order (the last made first).
    listed = api.client.get("/bucket/upload", params={"origin": "edit"}).json()["items"]
    assert [item["original_name"] for item in listed] == [
        "clip-03.jpg",
        "clip-02.jpg",
        "clip-01.jpg",
    ]


def test_thumbnail(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mkv", container="matroska", seconds=2.0)
    (still,) = outputs(api, run(api, media=clip["id"], thumbnail="1"))
    assert (still["kind"], still["width"], still["height"]) == ("image", 64, 48)
    assert still["source_seconds"] == pytest.approx(1.0, abs=0.05)
    assert still["source_media_id"] == clip["id"]


def test_image_operations_after_stills_run_on_each(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=3.0, size=(128, 96), fps=12)
    edit = run(api, media=clip["id"], frames="best:2", resize="32x", format="webp", quality="80")
    assert edit["query"] == "frames=best:2&resize=32x&format=webp&quality=80"
    assert [op["op"] for op in edit["ops"]] == ["frames", "resize", "format"]
    stills = outputs(api, edit)
    assert [(s["content_type"], s["width"], s["height"]) for s in stills] == [
        ("image/webp", 32, 24), ("image/webp", 32, 24),
    ]  # fmt: skip
    assert [still["original_name"] for still in stills] == ["clip-01.webp", "clip-02.webp"]
    times = [still["source_seconds"] for still in stills]
    assert all(0 <= time < 3 for time in times) and times == sorted(times), times


def test_thumbnail_takes_a_format_and_a_quality(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=2.0, size=(128, 96))
    (still,) = outputs(api, run(api, media=clip["id"], thumbnail="0.5", format="png"))
    assert (still["content_type"], still["width"]) == ("image/png", 128)
    assert still["original_name"] == "clip-edited.png"


def test_vcodec_without_format_keeps_the_sources_container(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mkv", container="matroska", seconds=1.0)
    (result,) = outputs(api, run(api, media=clip["id"], vcodec="vp9"))
    assert (result["content_type"], result["codecs"]["video"]) == ("video/x-matroska", "vp9")
    assert result["original_name"] == "clip-edited.mkv"
    assert result["source_seconds"] is None


def test_a_resize_past_every_codec_level_is_refused_when_asked_for(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """Within the default limits (50 MP, sides of 10,000), 10000x5000 was queued and the
    runner's x264 ran out of memory at its first frame after seconds of CPU."""
    clip = upload_video(api, tmp_path, "clip.mp4")
    posted = api.client.post("/edit", params={"media": clip["id"], "resize": "10000x5000"})
    by_address = api.client.get(f"/media/{clip['id']}/resize=10000x5000")
    for response in (posted, by_address):
        assert response.status_code == 422, response.text
        body = response.json()
        assert (body["parameter"], body["value"]) == ("resize", "10000x5000")
        assert "over the limit of 35,651,584, the largest frame" in body["detail"]
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}


def test_a_resize_to_the_sources_own_size_past_every_codec_level_is_copied(
    api: Api, tmp_path: Path
) -> None:
    """At the source's own size the plan copies the packets, which no codec level holds:
    POST refused resize=8200x4400 of an 8200x4400 video (within 50 MP) as frames past the
    codecs' largest (8192x4352), though the runner would have copied it."""
    path = media.striped_video(tmp_path / "wide.mp4", (8200, 4400))
    uploaded = api.upload(path.read_bytes(), filename="wide.mp4")
    assert uploaded.status_code == 201, uploaded.text
    (result,) = outputs(api, run(api, media=uploaded.json()["id"], resize="8200x4400"))
    assert (result["width"], result["height"], result["codecs"]["video"]) == (8200, 4400, "h264")


def test_a_resize_a_still_is_made_of_is_held_to_the_pixel_limit_when_asked_for(
    api: Api, conn: Conn, tmp_path: Path
) -> None:
    """A still is written by Pillow, not a video codec: a resize before a thumbnail is held to
    EDITROOM_MAX_PIXELS (50 MP), as the edit's plan holds it. 10000x5000 was refused as
    frames past the codecs' largest, and 10000x6000 named that limit, not the still's."""
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=0.5)
    refused = api.client.post(
        "/edit", params={"media": clip["id"], "resize": "10000x6000", "thumbnail": "0"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == (
        "resize='10000x6000': a still of 10000x6000 would have 60,000,000 pixels, more than "
        "the 50,000,000 a still may have (EDITROOM_MAX_PIXELS); accepted: a size of at most "
        "50,000,000 pixels a still"
    )
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}
    (still,) = outputs(api, run(api, media=clip["id"], resize="10000x5000", thumbnail="0"))
    assert (still["content_type"], still["width"], still["height"]) == ("image/jpeg", 10000, 5000)


def test_an_edit_past_its_time_limit_fails_for_good(
    database_url: str, tmp_path: Path, conn: Conn
) -> None:
    disable_backoff(conn)
    tight = quick_settings(
        database_url, tmp_path / "data", edit_timeout_seconds=0.05, edit_seconds_per_video_second=0
    )
    with running_api(tight) as api, running_runner(tight):
        clip = upload_video(api, tmp_path, "clip.mp4", seconds=2.0, size=(320, 240))
        body = api.client.post(
            "/edit", params={"media": clip["id"], "format": "webm", "wait": "30"}
        ).json()
    assert body["status"] == "failed"
    assert body["trial"] == 1
    assert "ran past its time limit" in body["error"]


def test_audio_extract_is_stored_as_media_without_a_picture(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "talk.mp4", seconds=2.0, size=(64, 48))
    (result,) = outputs(api, run(api, media=clip["id"], audio="extract"))
    assert result["kind"] == "video"
    assert result["content_type"] == "audio/mp4"
    assert (result["width"], result["height"]) == (None, None)
    assert result["codecs"] == {"video": None, "audio": "aac"}
    assert result["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    assert result["original_name"] == "talk-edited.m4a"


def test_overlay_reads_an_image_media(api: Api, tmp_path: Path) -> None:
    clip = upload_video(api, tmp_path, "clip.mp4", seconds=1.0, size=(128, 96))
    logo = api.upload(media.image_bytes("PNG", size=(16, 16)), filename="logo.png").json()
    edit = run(api, media=clip["id"], overlay=logo["id"], overlay_gravity="top-left", mute="")
    (result,) = outputs(api, edit)
    assert (result["width"], result["height"]) == (128, 96)
    assert result["codecs"] == {"video": "h264", "audio": None}
    refused = api.client.post("/edit", params={"media": clip["id"], "overlay": clip["id"]})
    assert refused.status_code == 422
    assert "ids of uploaded images" in refused.text
