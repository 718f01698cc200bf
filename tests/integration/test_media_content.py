"""GET /bucket/upload/{id}/content: whole, ranged (so a <video> can seek), cached, named."""

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests import media
from tests.api import Api, api_settings, running_api
from tests.s3 import S3Endpoint


@pytest.fixture(params=["local", "s3"])
def api(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path, s3_endpoint: S3Endpoint
) -> Iterator[Api]:
    with running_api(api_settings(database_url, tmp_path, request.param, s3_endpoint)) as running:
        yield running


@pytest.fixture
def video(api: Api, tmp_path: Path) -> tuple[str, bytes]:
    content = media.write_video(tmp_path / "v.mp4", seconds=2.0, size=(128, 96)).read_bytes()
    body = api.upload(content, filename="Été à Paris.mp4").json()
    return body["content_url"], content


def test_the_whole_content(api: Api, video: tuple[str, bytes]) -> None:
    url, content = video
    response = api.client.get(url)
    assert response.status_code == 200
    assert response.content == content
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-length"] == str(len(content))
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('inline; filename="')
    assert f"filename*=UTF-8''{quote('Été à Paris.mp4', safe='')}" in disposition


@pytest.mark.parametrize(
    ("header", "span"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=100-", (100, None)),
        ("bytes=-50", (-50, None)),
        ("bytes=5-999999999", (5, None)),
        (f"bytes=5-{'9' * 5000}", (5, None)),  # more digits than int() reads
        (f"bytes=-{'9' * 5000}", (0, None)),  # the final N bytes: all of them
    ],
)
def test_ranges(
    api: Api, video: tuple[str, bytes], header: str, span: tuple[int, int | None]
) -> None:
    url, content = video
    response = api.client.get(url, headers={"Range": header})
    start, end = span
    expected = content[start:] if end is None else content[start : end + 1]
    first = start if start >= 0 else len(content) + start
    assert response.status_code == 206
    assert response.content == expected
    assert response.headers["content-range"] == (
        f"bytes {first}-{first + len(expected) - 1}/{len(content)}"
    )


@pytest.mark.parametrize("start", ["size", "9" * 5000])
def test_a_range_past_the_end(api: Api, video: tuple[str, bytes], start: str) -> None:
    url, content = video
    first = str(len(content)) if start == "size" else start
    response = api.client.get(url, headers={"Range": f"bytes={first}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(content)}"


def test_ranges_it_does_not_understand_get_everything(api: Api, video: tuple[str, bytes]) -> None:
    url, content = video
    for header in ("bytes=0-1,5-6", "pages=1-2", "bytes=9-3"):
        response = api.client.get(url, headers={"Range": header})
        assert response.status_code == 200
        assert response.content == content


def test_head_and_conditional_get(api: Api, video: tuple[str, bytes]) -> None:
    url, content = video
    head = api.client.head(url)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(content))
    assert head.content == b""
    etag = head.headers["etag"]
    cached = api.client.get(url, headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    for held in ("*", f'"other", W/{etag}'):  # any version, or this one among others
        assert api.client.get(url, headers={"If-None-Match": held}).status_code == 304
    assert api.client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_range_if_the_content_is_the_one_the_client_has(
    api: Api, video: tuple[str, bytes]
) -> None:
    """If-Range with this content's ETag: the range. Anything else (another ETag, a date,
    which cannot match without Last-Modified): the whole content, 200."""
    url, content = video
    etag = api.client.head(url).headers["etag"]
    ranged = api.client.get(url, headers={"Range": "bytes=0-5", "If-Range": etag})
    assert (ranged.status_code, ranged.content) == (206, content[:6])
    for other in ('"nope"', "Sun, 06 Dec 2026 10:00:00 GMT", f"W/{etag}"):
        whole = api.client.get(url, headers={"Range": "bytes=0-5", "If-Range": other})
        assert (whole.status_code, whole.content) == (200, content), other
