"""The work a sandboxed child does: for one edit, run the pipeline of the media's kind, then
describe each result (probe and SHA-256) so the runner stores it without opening it again.
An upload's check is runner.engine.checks.check_file.

Every job a child runs lives in a module the forkserver preloads (runner.engine.preload): a
child unpickles its job by reference, so a job defined elsewhere would be imported by each
new child on its first job (a third of a second for the service's domain modules), and an
upload check's "first after start" would pay it.

An edit of a video whose operations go on after stills (`thumbnail=2&resize=320x&format=webp`)
is two pipelines: the video's makes the stills, then the image's runs the rest on each."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from uuid import UUID

from runner.engine.image.encoding import Encoding
from runner.engine.image.pipeline import edit_image
from runner.engine.ops.base import Limits, MediaKind, Operation, Product, Progress
from runner.engine.probe import MediaFacts, probe
from runner.engine.video.pipeline import edit_video
from runner.engine.video.stills import JPEG_QUALITY
from service.kernel.errors import EditFailed, InvalidMedia, UnsupportedMedia
from service.kernel.receive import sha256_of

STILLS_SHARE = 0.8  # of the progress, when image operations run on the stills after
STILL_ENCODING = Encoding("jpeg", JPEG_QUALITY)  # a still's, unless its operations say


@dataclass(frozen=True, slots=True)
class ProducedFile:
    path: str
    facts: MediaFacts
    size_bytes: int
    sha256: str
    source_seconds: float | None = None  # a still's time in the source video


def run_edit(
    kind: str,
    source: str,
    operations: Sequence[Operation],
    out_dir: str,
    limits: Limits,
    others: Mapping[str, str],
    recorded_durations: Mapping[str, float] | None = None,
    *,
    progress: Progress,
) -> list[ProducedFile]:
    """`operations` as the runner parsed them (they cross to the child pickled): the child
    does not read the edit language again. `recorded_durations`: each video's duration as its
    media row records it, by file: the length the upload measured of one whose header says
    none is taken, not measured again (runner.engine.video.probe)."""
    target = Path(out_dir)
    target.mkdir(parents=True, exist_ok=True)
    if MediaKind(kind) is MediaKind.IMAGE:
        paths = edit_image(
            Path(source), operations, out_dir=target, limits=limits, progress=progress,
            others={UUID(key): Path(value) for key, value in others.items()},
        )  # fmt: skip
        products = [Product(path) for path in paths]
    else:
        inputs = {UUID(key): Path(value) for key, value in others.items()}
        recorded = {Path(path): seconds for path, seconds in (recorded_durations or {}).items()}
        products = _edit_video(
            Path(source), operations, out_dir=target, limits=limits, progress=progress,
            others=inputs, recorded_durations=recorded,
        )  # fmt: skip
    sound_alone = any(operation.sound_alone for operation in operations)
    return [_described(product, limits, sound_alone=sound_alone) for product in products]


def _described(product: Product, limits: Limits, *, sound_alone: bool) -> ProducedFile:
    """A result the pipeline made, read back: one with no picture where the edit asked for
    sound alone (audio=extract) is accepted; any other is editroom's own fault, and fails the
    edit rather than be stored as if it were what was asked for. Its length is not held to
    the limit again: the plan held the result's to it, and a container may end a few
    hundredths of a second past its last frame."""
    try:
        return describe(
            product.path, replace(limits, max_video_seconds=math.inf), verify=False,
            sound_alone=sound_alone, source_seconds=product.source_seconds,
        )  # fmt: skip
    except (InvalidMedia, UnsupportedMedia) as exc:
        raise EditFailed(  # what was wrong: not the uploads' list of formats accepted
            f"the result {product.path.name} came out unreadable or incomplete ({exc.problem}); "
            "this is a fault in editroom: please report it with the edit's operations"
        ) from None


def _edit_video(
    source: Path,
    operations: Sequence[Operation],
    *,
    out_dir: Path,
    limits: Limits,
    progress: Progress,
    others: Mapping[UUID, Path],
    recorded_durations: Mapping[Path, float],
) -> list[Product]:
    video, images = _split(operations)
    if not images:
        return edit_video(
            source, video, out_dir=out_dir, limits=limits, progress=progress, others=others,
            recorded_durations=recorded_durations,
        )  # fmt: skip
    (stills_dir := out_dir / "stills").mkdir()
    stills = edit_video(
        source, video, out_dir=stills_dir, limits=limits, others=others, lossless_stills=True,
        progress=_scaled(progress, start=0.0, share=STILLS_SHARE),
        recorded_durations=recorded_durations,
    )  # fmt: skip
    share = (1 - STILLS_SHARE) / len(stills)
    progresses = [
        _scaled(progress, start=STILLS_SHARE + share * i, share=share) for i in range(len(stills))
    ]
    return [
        _edit_still(still, images, out_dir=out_dir, limits=limits, progress=told, others=others)
        for still, told in zip(stills, progresses, strict=True)
    ]


def _split(operations: Sequence[Operation]) -> tuple[list[Operation], list[Operation]]:
    """The video's operations, up to the one whose results are images, and the rest."""
    for position, operation in enumerate(operations):
        if operation.produces is MediaKind.IMAGE:
            return list(operations[: position + 1]), list(operations[position + 1 :])
    return list(operations), []


def _edit_still(
    still: Product, operations: list[Operation], *, out_dir: Path, limits: Limits,
    progress: Progress, others: Mapping[UUID, Path],
) -> Product:  # fmt: skip
    (path,) = edit_image(
        still.path, operations, out_dir=out_dir, limits=limits, progress=progress,
        others=others, default=STILL_ENCODING,
    )  # fmt: skip
    still.path.unlink()
    return Product(path, source_seconds=still.source_seconds)


def _scaled(progress: Progress, *, start: float, share: float) -> Progress:
    """Progress of one part of the work, told as the whole's."""
    return lambda fraction: progress(start + share * fraction)


def describe(
    path: Path,
    limits: Limits,
    *,
    verify: bool,
    max_frame_pixels: int | None = None,
    sound_alone: bool = False,
    source_seconds: float | None = None,
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
    size = path.stat().st_size
    return ProducedFile(str(path), facts, size, sha256_of(path), source_seconds)
