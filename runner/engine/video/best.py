"""Choosing the best stills: sharp (variance of the Laplacian), well exposed (mid-grey mean,
some contrast), never black, washed out, flat or blurred, and spread across scenes (a
colour-histogram change between neighbouring candidates starts a new scene), and never the
same picture twice (a still video, a long pause: `distinct`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

SCORE_WIDTH_PIXELS = 320  # candidates are judged on a copy this wide
DARK_MEAN = 28  # of 255: darker on average is a black frame
BRIGHT_MEAN = 235  # brighter is washed out
FLAT_STD = 12  # less contrast than this is a flat or faded frame
BLUR_FLOOR = 20.0  # Laplacian variance below this is blurred whatever the others are
BLUR_RELATIVE = 0.3  # of the sharpest candidate's: blurred next to the rest
SCENE_DISTANCE = 0.35  # Bhattacharyya distance of histograms that starts a new scene
SAME_PICTURE = 2.0  # mean grey-level difference (of 255) under which two stills are one

Image = npt.NDArray[Any]  # height x width x 3, RGB, 8 bits


@dataclass(frozen=True, slots=True)
class Candidate:
    at: float  # seconds on the timeline
    sharpness: float
    mean: float
    std: float
    histogram: npt.NDArray[np.float32]

    @property
    def score(self) -> float:
        exposure = 1.0 - abs(self.mean - 128.0) / 160.0
        return float(np.log1p(self.sharpness) * exposure * min(1.0, self.std / 48.0))


def measure(at: float, rgb: Image) -> Candidate:
    small = _small(rgb)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    histogram = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return Candidate(
        at=at,
        sharpness=float(cv2.Laplacian(grey, cv2.CV_64F).var()),
        mean=float(grey.mean()),
        std=float(grey.std()),
        histogram=(histogram / max(float(histogram.sum()), 1.0)).astype(np.float32).flatten(),
    )


def usable(candidates: list[Candidate]) -> list[Candidate]:
    exposed = [c for c in candidates if DARK_MEAN <= c.mean <= BRIGHT_MEAN and c.std >= FLAT_STD]
    if not exposed:
        return []
    floor = max(BLUR_FLOOR, BLUR_RELATIVE * max(c.sharpness for c in exposed))
    return [c for c in exposed if c.sharpness >= floor]


def choose(candidates: list[Candidate], count: int, *, duration: float) -> list[Candidate]:
    """Up to `count` usable candidates: the best of each scene first, best scenes first,
    then the best of the rest that are not too close in time to one already chosen."""
    good = sorted(usable(candidates), key=lambda c: c.at)
    leaders = sorted((max(s, key=lambda c: c.score) for s in scenes(good)), key=_by_score)
    chosen = leaders[:count]
    gap = duration / (3 * count)
    for candidate in sorted(good, key=_by_score):
        if len(chosen) >= count:
            break
        if all(abs(candidate.at - other.at) >= gap for other in chosen):
            chosen.append(candidate)
    return sorted(chosen, key=lambda c: c.at)


def distinct(pictures: Iterable[Image]) -> list[int]:
    """The positions of the pictures to keep: each unlike every one kept before it (on a
    copy SCORE_WIDTH_PIXELS wide, in grey, differing by more than SAME_PICTURE on average;
    the same picture encoded twice differs by its compression noise only)."""
    kept: list[int] = []
    greys: list[npt.NDArray[np.float32]] = []
    for position, rgb in enumerate(pictures):
        grey = cv2.cvtColor(_small(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
        if all(float(np.abs(grey - other).mean()) > SAME_PICTURE for other in greys):
            kept.append(position)
            greys.append(grey)
    return kept


def _small(rgb: Image) -> Image:
    """The copy pictures are judged on: SCORE_WIDTH_PIXELS wide at most."""
    height, width = rgb.shape[:2]
    scale = min(1.0, SCORE_WIDTH_PIXELS / width)
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))))


def scenes(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Runs of candidates (in time order) whose colours stay alike."""
    runs: list[list[Candidate]] = []
    for candidate in candidates:
        if runs and _distance(runs[-1][-1], candidate) < SCENE_DISTANCE:
            runs[-1].append(candidate)
        else:
            runs.append([candidate])
    return runs


def _distance(a: Candidate, b: Candidate) -> float:
    return float(cv2.compareHist(a.histogram, b.histogram, cv2.HISTCMP_BHATTACHARYYA))


def _by_score(candidate: Candidate) -> float:
    return -candidate.score
