"""What the runner gives an edit's job of its videos' recorded durations: each by the local
file the job reads, so the job's probe takes the length the upload measured of a video whose
header declares none (tests/unit/video/test_robustness.py) instead of reading it again."""

import asyncio
import inspect
from pathlib import Path
from typing import Any, cast
from uuid import UUID, uuid4

from runner.engine.jobs import run_edit
from runner.engine.sandbox import Sandbox
from runner.process.execute import ClaimedEdit, EditExecutor, recorded_durations
from service.domain.library import MediaLibrary
from service.kernel.db import Row
from service.kernel.settings import Settings


def test_each_video_is_given_its_rows_duration_by_its_local_file() -> None:
    media: list[Row] = [
        {"id": "a", "duration_seconds": 2.5},
        {"id": "b", "duration_seconds": 3},  # a claim's row comes as JSON: 3.0 is 3
    ]
    local = {"a": "/work/in-a", "b": "/bucket/b"}
    assert recorded_durations(media, local) == {"/work/in-a": 2.5, "/bucket/b": 3.0}
    assert isinstance(recorded_durations(media, local)["/bucket/b"], float)


def test_an_image_or_a_video_of_unknown_length_is_left_to_be_measured() -> None:
    media: list[Row] = [
        {"id": "image", "duration_seconds": None},
        {"id": "zero", "duration_seconds": 0},  # recorded of a header's 0 s: no measurement
    ]
    assert recorded_durations(media, {"image": "/work/in-image", "zero": "/work/in-zero"}) == {}


def test_an_edits_job_is_given_the_durations_of_its_source_and_what_it_appends(
    tmp_path: Path,
) -> None:
    source, other = _video(uuid4(), 2.0), _video(uuid4(), 1.5)
    sandbox = _JobsSeen()
    executor = EditExecutor(
        library=cast(MediaLibrary, _Library(tmp_path, [other])),
        sandbox=cast(Sandbox, sandbox),
        settings=Settings(data_dir=tmp_path),
    )
    edit = ClaimedEdit(
        id=uuid4(), media_id=source["id"], ops=[{"op": "concat", "media": [str(other["id"])]}],
        trial=1, max_trials=3, kind="video", source=source,
    )  # fmt: skip
    try:
        asyncio.run(executor(edit, lambda fraction, detail=None: None))
    finally:
        executor.close()
    ((function, args),) = sandbox.jobs
    assert function is run_edit
    given = inspect.signature(run_edit).bind_partial(*args).arguments
    assert given["recorded_durations"] == {
        str(tmp_path / source["storage_key"]): 2.0,
        str(tmp_path / other["storage_key"]): 1.5,
    }


def _video(media_id: UUID, seconds: float) -> Row:
    return {
        "id": media_id, "kind": "video", "storage_key": f"media-{media_id}",
        "duration_seconds": seconds, "original_name": "clip.webm",
    }  # fmt: skip


class _Library:
    """A local bucket at `folder` holding `media`."""

    def __init__(self, folder: Path, media: list[Row]) -> None:
        self._media = {row["id"]: row for row in media}
        self.storage = self
        self._folder = folder

    async def get(self, media_id: UUID) -> Row:
        return self._media[media_id]

    def local_path(self, key: str) -> Path:
        return self._folder / key


class _JobsSeen:
    """A sandbox that records each job it is asked to run and produces nothing."""

    def __init__(self) -> None:
        self.jobs: list[tuple[object, tuple[Any, ...]]] = []

    async def run(self, function: object, *args: Any, **options: Any) -> list[object]:
        self.jobs.append((function, args))
        return []
