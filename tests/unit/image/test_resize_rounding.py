"""resize with fit=cover over many source and box sizes: the centred region is computed from
ratios that rounding can push a hair past the source's edge (134x134 of a 1200x900 image was
an internal error, `box offset can't be negative`). A deterministic sweep, not a sample."""

from PIL import Image

from runner.engine.image.engine import Picture
from runner.engine.image.resize import Resize

SOURCES = ((120, 90), (90, 120), (97, 13), (300, 200), (50, 37), (7, 300))


def boxes(side: int) -> list[tuple[int, int]]:
    return [(side, side), (side, side + 1), (side + 1, side), (2 * side + 3, side)]


def test_cover_gives_the_box_for_every_size() -> None:
    failures = []
    for source in SOURCES:
        picture = Picture(frames=(Image.new("L", source),), durations_ms=(0,))
        for side in range(1, 161):
            for box in boxes(side):
                resize = Resize(width=box[0], height=box[1], fit="cover", upscale=True)
                try:
                    size = resize.apply(picture).size
                except ValueError as exc:
                    failures.append((source, box, str(exc)))
                    continue
                if size != box:
                    failures.append((source, box, f"made {size}"))
    assert failures == []


def test_the_reported_case_is_the_box_asked_for() -> None:
    picture = Picture(frames=(Image.new("RGB", (1200, 900)),), durations_ms=(0,))
    result = Resize(width=134, height=134, fit="cover").apply(picture)
    assert result.size == (134, 134)
