"""The editroom app in-process against a real database, with local or S3 storage."""

import copy
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from runner.engine.ops.base import Limits
from service.http.app import create_app
from service.kernel.settings import Settings
from tests import s3
from tests.s3 import S3Endpoint


@dataclass
class Api:
    client: TestClient
    settings: Settings

    def upload(self, content: bytes, *, filename: str = "upload.bin", **params: str) -> Any:
        return self.client.post(
            "/bucket/upload", files={"file": (filename, content, "application/octet-stream")},
            params=params,
        )  # fmt: skip


def api_settings(
    database_url: str, data_dir: Path, backend: str, s3: S3Endpoint | None, **overrides: Any
) -> Settings:
    options: dict[str, Any] = {"database_url": database_url, "data_dir": data_dir, **overrides}
    if backend == "s3":
        assert s3 is not None
        options |= s3.settings(f"api-{secrets.token_hex(6)}")
    return Settings(**options)


# A runner in a test should notice work and report progress quickly.
QUICK = {"poll_interval_seconds": 0.2, "progress_interval_seconds": 0.1}


def backdate(settings: Settings, key: str, age: timedelta) -> None:
    """Make a stored object `age` older than it is, in either backend, rather than wait."""
    if settings.s3_endpoint is None:
        path = settings.bucket_dir / key
        modified = path.stat().st_mtime - age.total_seconds()
        os.utime(path, (modified, modified))
    else:
        s3.backdate(settings.s3_bucket, key, age)


def quick_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Local storage and a quick runner: what most end-to-end tests want."""
    return api_settings(database_url, data_dir, "local", None, **{**QUICK, **overrides})


# The OpenAPI document each app builds as it starts (service/http/app.py), by the limits it
# describes: the same for every app of this code, so built once per limits for the whole test
# run (a quarter of a second saved on each of hundreds of app starts). A route's handler is
# then built on its first request instead, as FastAPI does by default.
_DOCUMENTS: dict[Limits, dict[str, Any]] = {}


@contextmanager
def running_api(settings: Settings) -> Iterator[Api]:
    app = create_app(settings)
    limits = Limits.from_settings(settings)
    if limits in _DOCUMENTS:
        app.openapi_schema = copy.deepcopy(_DOCUMENTS[limits])
    # Like any client: at the public URL, so the Host is one the service answers.
    with TestClient(app, base_url=settings.base_url) as client:
        _DOCUMENTS.setdefault(limits, copy.deepcopy(app.openapi()))
        yield Api(client, settings)
