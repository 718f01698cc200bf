"""thumbnail and frames=best:N: stills of the planned timeline written as JPEG images (or as
PNG, losslessly, for image operations to run on), each with the time of the source it shows."""

from pathlib import Path

from PIL import Image

from runner.engine.ops.base import Product, Progress
from runner.engine.video.best import Candidate, choose, distinct, measure
from runner.engine.video.frames import Frames
from runner.engine.video.plan import Plan
from runner.engine.video.reader import Shot, TimelineReader
from runner.engine.video.thumbnail import Thumbnail
from service.kernel.errors import EditFailed

JPEG_QUALITY = 90
PNG_COMPRESS_LEVEL = 1  # of zlib's 0-9
MIN_CANDIDATES = 24  # judged for frames=best:N, at least, and 3 per still asked
MAX_CANDIDATES = 200  # keyframes beyond this are thinned evenly
SCAN_SHARE = 0.6  # of frames=best's progress: the keyframe scan; then extra frames, judging


def write_stills(
    plan: Plan, *, source: Path, out_dir: Path, progress: Progress, lossless: bool = False
) -> list[Product]:
    """Each still records its time in `source`, the edit's own video (none for a still of a
    video concat appended). `lossless`: PNG, for image operations to run on."""
    with TimelineReader(plan) as reader:
        if isinstance(plan.still, Thumbnail):
            shots = [_thumbnail(reader, plan=plan, still=plan.still)]
        else:
            assert isinstance(plan.still, Frames)
            shots = _best(reader, count=plan.still.count, progress=progress)
    suffix = "png" if lossless else "jpg"
    return [
        Product(
            _save(shot, out_dir / f"{_name(plan, number)}.{suffix}"),
            source_seconds=round(shot.source_at, 6) if shot.source == source else None,
        )
        for number, shot in enumerate(shots, start=1)
    ]


def _name(plan: Plan, number: int) -> str:
    return "thumbnail" if isinstance(plan.still, Thumbnail) else f"frame-{number:02d}"


def _thumbnail(reader: TimelineReader, *, plan: Plan, still: Thumbnail) -> Shot:
    if still.at > plan.duration:
        raise EditFailed(
            f"thumbnail={still.at:g} is past the end of the video, which lasts "
            f"{plan.duration:.3f} s"
        )
    return reader.at(still.at)  # one seek: no progress to tell


def _best(reader: TimelineReader, *, count: int, progress: Progress) -> list[Shot]:
    """Each candidate is judged as it is read and its picture let go (a 720p one is 2.7 MB,
    and every frame of an all-intra video is a keyframe); the chosen are read again. Times
    are all the timeline's (a Shot's `at`, reader.length), so a speed scales them alike: the
    stills are spread over the result as over the timeline."""
    wanted = max(MIN_CANDIDATES, 3 * count)
    length = reader.length
    keyframes = []
    for shot in reader.keyframes():  # the scan of the whole video: most of the time
        keyframes.append(_judged(shot))
        progress(SCAN_SHARE * min(1.0, shot.at / length) if length > 0 else 0.0)
    candidates = {candidate.at: candidate for candidate in _thin(keyframes, MAX_CANDIDATES)}
    progress(SCAN_SHARE)
    extra = max(0, wanted - len(candidates))  # too few keyframes: frames evenly spread as well
    for index in range(extra):
        shot = reader.on_timeline(length * (index + 0.5) / extra)
        if shot.at not in candidates:
            candidates[shot.at] = _judged(shot)
        progress(SCAN_SHARE + (1 - SCAN_SHARE) / 2 * (index + 1) / extra)
    chosen = choose(list(candidates.values()), count, duration=length)
    if not chosen:
        raise EditFailed("no frame of the video is sharp and well exposed enough to keep")
    shots = [reader.on_timeline(candidate.at) for candidate in chosen]
    return [shots[kept] for kept in distinct(shot.image.to_ndarray() for shot in shots)]


def _judged(shot: Shot) -> Candidate:
    return measure(shot.at, shot.image.to_ndarray())


def _thin(candidates: list[Candidate], most: int) -> list[Candidate]:
    step = max(1, -(-len(candidates) // most))
    return candidates[::step]


def _save(shot: Shot, path: Path) -> Path:
    image = Image.fromarray(shot.image.to_ndarray())
    if path.suffix == ".png":  # read again at once: fast beats small
        image.save(path, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        image.save(path, format="JPEG", quality=JPEG_QUALITY)
    return path
