"""edit_image: an image file in, the edited image file out. It runs the operations in order
on every frame, within the limits, in a child process the runner manages (so it is plain
synchronous code), and reports its progress as it goes."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from uuid import UUID

from runner.engine.image import decoding, encoding
from runner.engine.image.base import ImageOperation, Inputs
from runner.engine.image.decoding import Planner
from runner.engine.image.engine import Picture, Size
from runner.engine.image.format import Format
from runner.engine.ops.base import Limits, Operation, Progress
from service.kernel.errors import EditFailed

DECODED_PROGRESS = 0.2  # once the source is decoded; the operations share the next 0.7
OPERATIONS_PROGRESS = 0.7


def edit_image(
    source: Path,
    operations: Sequence[Operation],
    *,
    out_dir: Path,
    limits: Limits,
    progress: Progress,
    others: Mapping[UUID, Path] | None = None,
    default: encoding.Encoding | None = None,
) -> list[Path]:
    """`others`: the local files of the media the operations read (overlay), by id.
    `default`: how the result is written when no format operation says; without it, as the
    source is."""
    steps = image_steps(operations)
    inputs = Inputs(others or {}, max_pixels=limits.max_pixels)
    with decoding.pixel_limit(limits.max_pixels):
        decoded = decoding.read(source, max_pixels=limits.max_pixels, plan=_planner(steps, limits))
        progress(DECODED_PROGRESS)
        picture = decoded.picture
        for done, step in enumerate(steps, start=1):
            picture = _run(step, picture, limits, inputs)
            progress(DECODED_PROGRESS + OPERATIONS_PROGRESS * done / len(steps))
        check_output(picture.size, limits)
        how = _encoding(steps, picture, default=default or encoding.Encoding(decoded.format))
        target = out_dir / f"{source.stem}-edited.{encoding.EXTENSIONS[how.format]}"
        encoding.write(picture, target, how)
    progress(1.0)
    return [target]


def image_steps(operations: Sequence[Operation]) -> list[ImageOperation]:
    """The operations that change the image (noop changes nothing). The edit language has
    checked the list as a whole (runner.engine.ops.language.checked): image operations only,
    within the count, format once."""
    return [operation for operation in operations if isinstance(operation, ImageOperation)]


def check_output(size: Size, limits: Limits) -> None:
    if problem := limits.oversized(*size):
        side = limits.max_output_side
        raise EditFailed(f"{problem}; add a resize (e.g. resize={side}x{side}) to the edit")


def _planner(steps: list[ImageOperation], limits: Limits) -> Planner:
    """Before decoding: refuse what the sizes alone make impossible, and ask for a reduced
    decode when the first operation to touch pixels can do with less (a shrinking resize)."""

    def plan(size: Size) -> Size | None:
        _check_sizes(steps, size, limits)
        first = next((step for step in steps if not isinstance(step, Format)), None)
        return first.draft_size(size) if first else None

    return plan


def _check_sizes(steps: list[ImageOperation], size: Size, limits: Limits) -> None:
    for step in steps:
        planned = step.output_size(size)
        if planned is None:
            return  # the pixels decide the rest, checked as the edit runs
        _check_pixels(step, planned, frames=1, limits=limits)
        size = planned
    check_output(size, limits)


def _run(step: ImageOperation, picture: Picture, limits: Limits, inputs: Inputs) -> Picture:
    planned = step.output_size(picture.nominal_size)
    if planned is not None:
        _check_pixels(step, planned, frames=len(picture.frames), limits=limits)
    return step.apply_with(picture, inputs)


def _check_pixels(step: ImageOperation, size: Size, *, frames: int, limits: Limits) -> None:
    what = f"the result of {step.name}"
    decoding.check_pixels(size, frames=frames, max_pixels=limits.max_pixels, what=what)


def _encoding(
    steps: list[ImageOperation], picture: Picture, *, default: encoding.Encoding
) -> encoding.Encoding:
    formats = [step for step in steps if isinstance(step, Format)]
    return formats[0].encoding_for(picture) if formats else default
