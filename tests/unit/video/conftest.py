"""Source videos (made once per session, tiny) and a way to run an edit as /edit would."""

from collections.abc import Callable, Mapping
from pathlib import Path
from uuid import UUID

import pytest

from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video.pipeline import edit_video
from tests.unit.video.media import Spec, make_video

LIMITS = Limits(max_pixels=4_000_000, max_output_side=2000, max_video_seconds=60, max_operations=10)
Edit = Callable[..., list[Path]]
Make = Callable[..., Path]


@pytest.fixture(scope="session")
def make(tmp_path_factory: pytest.TempPathFactory) -> Make:
    """A source video for a Spec, made once per session."""
    made: dict[Spec, Path] = {}
    folder = tmp_path_factory.mktemp("sources")

    def _make(**fields: object) -> Path:
        spec = Spec(**fields)  # type: ignore[arg-type]
        key = spec
        if key not in made:
            name = f"source-{len(made)}.{spec.container}"
            made[key] = make_video(folder / name, spec)
        return made[key]

    return _make


@pytest.fixture
def edit(tmp_path: Path) -> Edit:
    """Runs a query-string edit on a source; returns the result files."""
    count = iter(range(1000))

    def _edit(
        source: Path,
        query: list[tuple[str, str]],
        *,
        others: Mapping[UUID, Path] | None = None,
        limits: Limits = LIMITS,
        progress: Callable[[float], None] | None = None,
    ) -> list[Path]:
        operations = parse_query(catalogue(), MediaKind.VIDEO, query, limits=limits)
        out = tmp_path / f"out-{next(count)}"
        out.mkdir()
        products = edit_video(
            source, operations, out_dir=out, limits=limits,
            progress=progress or (lambda fraction: None), others=others or {},
        )  # fmt: skip
        return [product.path for product in products]

    return _edit
