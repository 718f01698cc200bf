"""Images the tests build, and ways to look at results: by size, mode and colour within a
tolerance, never by bytes."""

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID

import numpy as np
import skimage.data
from PIL import Image, ImageCms

from runner.engine.image.pipeline import edit_image
from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query

RGB = tuple[int, int, int]
RED: RGB = (255, 0, 0)
GREEN: RGB = (0, 255, 0)
BLUE: RGB = (0, 0, 255)
WHITE: RGB = (255, 255, 255)
BLACK: RGB = (0, 0, 0)
# Top-left, top-right, bottom-left, bottom-right: where each part went tells what was done.
QUADRANTS: tuple[RGB, RGB, RGB, RGB] = (RED, GREEN, BLUE, WHITE)
LIMITS = Limits(max_pixels=4_000_000, max_output_side=3000, max_video_seconds=60, max_operations=20)
TOLERANCE = 24  # per channel: lossy codecs and resampling move colours a little


def quadrants(size: tuple[int, int] = (80, 60), colours: Sequence[RGB] = QUADRANTS) -> Image.Image:
    width, height = size
    image = Image.new("RGB", size)
    half_w, half_h = width // 2, height // 2
    boxes = [(0, 0, half_w, half_h), (half_w, 0, width, half_h),
             (0, half_h, half_w, height), (half_w, half_h, width, height)]  # fmt: skip
    for colour, box in zip(colours, boxes, strict=True):
        image.paste(colour, box)
    return image


def save(image: Image.Image, path: Path, **options: Any) -> Path:
    image.save(path, **options)
    return path


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def noise(size: tuple[int, int], seed: int = 0) -> Image.Image:
    """Random colours: no face, no structure."""
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(array)


def astronaut() -> Image.Image:
    """skimage's 512x512 portrait: a real photograph with a frontal face."""
    photo: np.ndarray = skimage.data.astronaut()  # type: ignore[no-untyped-call]
    return Image.fromarray(photo)


def edit(
    source: Path,
    query: str,
    *,
    out_dir: Path | None = None,
    limits: Limits = LIMITS,
    others: Mapping[UUID, Path] | None = None,
) -> Image.Image:
    """Run the edit written as a query string (`crop=0,0,10,10&resize=5x`) on `source` and
    return the result, loaded. `others`: the files of the media it reads (overlay)."""
    path = edit_path(source, query, out_dir=out_dir, limits=limits, others=others)
    with Image.open(path) as result:
        result.load()
        return result


def edit_path(
    source: Path,
    query: str,
    *,
    out_dir: Path | None = None,
    limits: Limits = LIMITS,
    others: Mapping[UUID, Path] | None = None,
) -> Path:
    operations = parse_query(
        catalogue(), MediaKind.IMAGE, parse_qsl(query, keep_blank_values=True), limits=limits
    )
    (path,) = edit_image(
        source,
        operations,
        out_dir=out_dir or source.parent,
        limits=limits,
        progress=_ignore,
        others=others,
    )
    return path


def _ignore(fraction: float) -> None:
    pass


def colour_at(image: Image.Image, x: float, y: float) -> tuple[int, ...]:
    """The colour at a point given as fractions of the width and height, as RGBA."""
    point = (
        min(int(x * image.width), image.width - 1),
        min(int(y * image.height), image.height - 1),
    )
    value = image.convert("RGBA").getpixel(point)
    assert isinstance(value, tuple)
    return value


def near(actual: Sequence[int], expected: Sequence[int], tolerance: int = TOLERANCE) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=False))


def corners(image: Image.Image) -> list[tuple[int, ...]]:
    """The colours a quarter of the way in from each corner, in QUADRANTS order."""
    return [colour_at(image, x, y) for y in (0.25, 0.75) for x in (0.25, 0.75)]


def shows(image: Image.Image, colours: Sequence[Sequence[int]]) -> bool:
    return all(
        near(seen, (*wanted, 255)) for seen, wanted in zip(corners(image), colours, strict=True)
    )


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    a = np.asarray(first.convert("RGB"), dtype=np.float64)
    b = np.asarray(second.convert("RGB"), dtype=np.float64)
    return float(np.abs(a - b).mean())


def icc_of(image: Image.Image) -> bytes | None:
    profile = image.info.get("icc_profile")
    return profile if isinstance(profile, bytes) else None


def to_bytes(image: Image.Image, format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format)
    return buffer.getvalue()
