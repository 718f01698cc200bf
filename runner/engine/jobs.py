"""The work a sandboxed child does for one edit: run the pipeline of the media's kind, then
describe each result (probe and SHA-256) so the runner stores it without opening it again."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from runner.engine.image.pipeline import edit_image
from runner.engine.ops.base import Limits, MediaKind, Operation, Progress
from runner.engine.probe import MediaFacts, probe
from runner.engine.video.pipeline import edit_video
from service.kernel.receive import sha256_of


@dataclass(frozen=True, slots=True)
class ProducedFile:
    path: str
    facts: MediaFacts
    size_bytes: int
    sha256: str


def run_edit(
    kind: str,
    source: str,
    operations: Sequence[Operation],
    out_dir: str,
    limits: Limits,
    others: Mapping[str, str],
    *,
    progress: Progress,
) -> list[ProducedFile]:
    """`operations` as the runner parsed them (they cross to the child pickled): the child
    does not read the edit language again."""
    media_kind = MediaKind(kind)
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    if media_kind is MediaKind.IMAGE:
        paths = edit_image(
            Path(source), operations, out_dir=target, limits=limits, progress=progress,
            others={UUID(key): Path(value) for key, value in others.items()},
        )  # fmt: skip
    else:
        paths = edit_video(
            Path(source), operations, out_dir=target, limits=limits, progress=progress,
            others={UUID(key): Path(value) for key, value in others.items()},
        )  # fmt: skip
    return [describe(path, limits, verify=False, sound_alone=True) for path in paths]


def describe(
    path: Path,
    limits: Limits,
    *,
    verify: bool,
    max_frame_pixels: int | None = None,
    sound_alone: bool = False,
) -> ProducedFile:
    """What a produced file is (probed) and its SHA-256, so the runner stores it as is.
    verify=False for what editroom has just encoded itself; True for anything fetched.
    sound_alone: an audio file an edit made (audio=extract) is accepted."""
    facts = probe(
        path,
        max_pixels=limits.max_pixels,
        max_video_seconds=limits.max_video_seconds,
        verify=verify,
        max_frame_pixels=max_frame_pixels,
        sound_alone=sound_alone,
    )
    return ProducedFile(str(path), facts, path.stat().st_size, sha256_of(path))
