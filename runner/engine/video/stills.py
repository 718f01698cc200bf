"""thumbnail and frames=best:N: stills of the planned timeline written as JPEG images."""

from pathlib import Path

from PIL import Image

from runner.engine.ops.base import Progress
from runner.engine.video.best import choose, measure
from runner.engine.video.frames import Frames
from runner.engine.video.plan import Plan
from runner.engine.video.reader import Shot, TimelineReader
from runner.engine.video.thumbnail import Thumbnail
from service.kernel.errors import EditFailed

JPEG_QUALITY = 90
MIN_CANDIDATES = 24  # judged for frames=best:N, at least, and 3 per still asked
MAX_CANDIDATES = 200  # keyframes beyond this are thinned evenly
SCAN_SHARE = 0.6  # of frames=best's progress: the keyframe scan; then extra frames, judging


def write_stills(plan: Plan, *, out_dir: Path, progress: Progress) -> list[Path]:
    with TimelineReader(plan) as reader:
        if isinstance(plan.still, Thumbnail):
            return [_thumbnail(reader, plan=plan, still=plan.still, out_dir=out_dir)]
        assert isinstance(plan.still, Frames)
        return _best(reader, plan=plan, count=plan.still.count, out_dir=out_dir, progress=progress)


def _thumbnail(reader: TimelineReader, *, plan: Plan, still: Thumbnail, out_dir: Path) -> Path:
    if still.at > plan.duration:
        raise EditFailed(
            f"thumbnail={still.at:g} is past the end of the video, which lasts "
            f"{plan.duration:.3f} s"
        )
    return _save(reader.at(still.at), out_dir / "thumbnail.jpg")  # one seek: no progress to tell


def _best(
    reader: TimelineReader, *, plan: Plan, count: int, out_dir: Path, progress: Progress
) -> list[Path]:
    wanted = max(MIN_CANDIDATES, 3 * count)
    keyframes = []
    for shot in reader.keyframes():  # the scan of the whole video: most of the time
        keyframes.append(shot)
        progress(SCAN_SHARE * min(1.0, shot.at / plan.duration) if plan.duration > 0 else 0.0)
    shots = {shot.at: shot for shot in _thin(keyframes, MAX_CANDIDATES)}
    progress(SCAN_SHARE)
    extra = max(0, wanted - len(shots))  # too few keyframes: frames evenly spread as well
    for index in range(extra):
        shot = reader.at(plan.duration * (index + 0.5) / extra)
        shots.setdefault(shot.at, shot)
        progress(SCAN_SHARE + (1 - SCAN_SHARE) / 2 * (index + 1) / extra)
    candidates = [measure(at, shot.image.to_ndarray()) for at, shot in shots.items()]
    chosen = choose(candidates, count, duration=plan.duration)
    if not chosen:
        raise EditFailed("no frame of the video is sharp and well exposed enough to keep")
    return [
        _save(shots[candidate.at], out_dir / f"frame-{number:02d}.jpg")
        for number, candidate in enumerate(chosen, start=1)
    ]


def _thin(shots: list[Shot], most: int) -> list[Shot]:
    step = max(1, -(-len(shots) // most))
    return shots[::step]


def _save(shot: Shot, path: Path) -> Path:
    Image.fromarray(shot.image.to_ndarray()).save(path, format="JPEG", quality=JPEG_QUALITY)
    return path
