"""A real S3 HTTP endpoint for tests: moto's server, on a free loopback port."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

ACCESS_KEY = "editroom-test"
SECRET_KEY = "editroom-test-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3Endpoint:
    url: str

    def settings(self, bucket: str) -> dict[str, str]:
        """EDITROOM_* settings (without the prefix) that point editroom at this endpoint."""
        return {
            "s3_endpoint": self.url,
            "s3_access_key": ACCESS_KEY,
            "s3_secret_key": SECRET_KEY,
            "s3_bucket": bucket,
            "s3_region": REGION,
        }


@contextmanager
def moto_s3() -> Iterator[S3Endpoint]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


def backdate(bucket: str, key: str, age: timedelta) -> None:
    """Make a stored object look `age` older, as S3 would list it, without waiting that long.
    The server runs in this process: its object is changed where moto keeps it."""
    stored = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(bucket, key)
    assert stored is not None, f"{key} is not in {bucket}"
    stored.last_modified -= age
