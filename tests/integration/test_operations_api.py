"""GET /operations through the real app: the catalogue POST /edit parses with, and each
operation's example, posted as an edit on a media of its kind, is accepted."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests import media
from tests.api import Api, quick_settings, running_api


@pytest.fixture
def api(database_url: str, tmp_path: Path) -> Iterator[Api]:
    with running_api(quick_settings(database_url, tmp_path, max_output_side=2000)) as running:
        yield running


def test_operations_lists_the_language_with_configured_limits(api: Api) -> None:
    body = api.client.get("/operations").json()
    names = {(op["kind"], op["name"]) for op in body["operations"]}
    assert {("image", "crop"), ("image", "text"), ("video", "trim"), ("video", "frames")} <= names
    resize = next(
        op for op in body["operations"] if (op["kind"], op["name"]) == ("image", "resize")
    )
    assert resize["group"] == "geometry"
    assert resize["parameters"][0]["maximum"] == 2000
    assert [c["name"] for c in body["controls"]] == [
        "media",
        "session",
        "wait",
        "priority",
        "fresh",
    ]
    frames = next(op for op in body["operations"] if op["name"] == "frames")
    assert (frames["produces"], resize["produces"]) == ("image", None)


def test_every_example_is_accepted_as_an_edit(api: Api, tmp_path: Path) -> None:
    # Large and long enough for the examples: a crop outside the picture, a trim after the
    # video's end are refused as they are asked.
    image = api.upload(media.image_bytes("PNG", size=(400, 300)), filename="p.png").json()
    clip = media.write_video(tmp_path / "v.mp4", seconds=5.0, size=(672, 384))
    video = api.upload(clip.read_bytes(), filename="v.mp4").json()
    ids = {"image": image["id"], "video": video["id"]}
    operations: list[dict[str, Any]] = api.client.get("/operations").json()["operations"]
    for operation in operations:
        example = operation["example"]
        if operation["name"] == "concat":
            example = f"concat={video['id']}"
        if operation["name"] == "overlay":  # its example names a media of no library
            example = example.replace(example.split("&")[0], f"overlay={image['id']}")
        params = [("media", ids[operation["kind"]]), *parse_qsl(example, keep_blank_values=True)]
        response = api.client.post("/edit", params=params)
        assert response.status_code == 202, (example, response.json())
