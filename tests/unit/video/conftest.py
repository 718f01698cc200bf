"""Source videos (made once per session, tiny) and a way to run an edit as /edit would."""

from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
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


@pytest.fixture(
    params=[
        {"gop": 12},
        {"gop": 48, "bframes": 2, "acodec": None},
        {"container": "ts", "gop": 30},
        {"container": "webm", "vcodec": "libvpx-vp9", "acodec": None, "gop": 40},
    ],
    ids=["gop-12", "b-frames", "mpeg-ts", "vp9-webm"],
)
def read_on_source(request: pytest.FixtureRequest, make: Make) -> Path:
    """A 4 s source for the tests that compare frames read on from the one before with a
    seek for each (GIF palettes, frames=best): keyframes often and seldom, B-frames, an
    MPEG-TS sought without an index, VP9 in WebM."""
    return make(seconds=4.0, **request.param)


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


def counted_calls(monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str) -> list[None]:
    """One item per call of `module`'s function `name`, which then runs as before."""
    calls: list[None] = []
    original = getattr(module, name)

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(None)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counting)
    return calls
