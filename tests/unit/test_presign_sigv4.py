"""A presigned S3 PUT signs the body's length, so S3 itself refuses a body of another size.
The test S3 (moto) does not check signatures: the URL is checked against botocore's own
presigner, which S3 documents and which signs `content-length` when given ContentLength."""

from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import botocore.session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from service.kernel.storage.sigv4 import PutPresigner

NOW = datetime(2026, 12, 7, 3, 14, tzinfo=UTC)
ENDPOINT = "http://127.0.0.1:9000"


def botocore_url(key: str, *, size_bytes: int, secret: str) -> str:
    client = botocore.session.get_session().create_client(
        "s3", endpoint_url=ENDPOINT, aws_access_key_id="ak", aws_secret_access_key=secret,
        region_name="eu-west-3",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )  # fmt: skip
    params = {"Bucket": "media", "Key": key, "ContentLength": size_bytes}
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        url: str = client.generate_presigned_url("put_object", Params=params, ExpiresIn=600)
    return url


def test_the_url_signs_the_declared_content_length() -> None:
    presigner = PutPresigner(ENDPOINT, access_key="ak", secret_key="s/+k", region="eu-west-3")
    url = presigner.put_url(
        "media", "pending/0b7e-1", size_bytes=10, expires=timedelta(seconds=600), now=NOW
    )
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    assert url == botocore_url("pending/0b7e-1", size_bytes=10, secret="s/+k")


def test_another_size_is_another_signature() -> None:
    presigner = PutPresigner(ENDPOINT, access_key="ak", secret_key="k", region="eu-west-3")
    ten, more = (
        presigner.put_url("media", "pending/a", size_bytes=size, expires=timedelta(60), now=NOW)
        for size in (10, 5_000_000)
    )
    assert (
        parse_qs(urlsplit(ten).query)["X-Amz-Signature"]
        != parse_qs(urlsplit(more).query)["X-Amz-Signature"]
    )
