"""Gravity: which part of an image is kept when a crop is smaller than it (resize with
fit=cover), or where something is placed inside a larger box (fit=pad, overlay).

Every gravity becomes a focus point, (x, y) as fractions of the image: a compass point is a
corner or the middle of a side (n = (0.5, 0)), center is (0.5, 0.5), `x:y` is given as is,
`face` is the centre of the largest frontal face (OpenCV's Haar cascade, as headshot uses; the
centre when there is none), and `smart` is the centre of the window of the kept shape holding
the most detail: the sum of absolute luma gradients (edge energy) over candidate windows slid
across a copy no larger than SMART_SIDE_PX. The kept window is then centred on the focus point
and moved, as little as needed, to lie inside the image."""

import re

import numpy as np

from runner.engine import draw
from runner.engine.image.engine import Frame, Region
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

Focus = tuple[float, float]  # x, y as fractions of the width and height
Share = tuple[float, float]  # the kept window's width and height, as fractions of the image
COMPASS: dict[str, Focus] = {
    "center": (0.5, 0.5), "n": (0.5, 0.0), "s": (0.5, 1.0), "e": (1.0, 0.5), "w": (0.0, 0.5),
    "ne": (1.0, 0.0), "nw": (0.0, 0.0), "se": (1.0, 1.0), "sw": (0.0, 1.0),
}  # fmt: skip
DETECTED = ("face", "smart")
# The positions text_position and a video's overlay_gravity write (top-right) name the same
# places: an image's gravity takes them too, kept as the compass point.
POSITION_COMPASS: dict[str, str] = {
    position: compass for compass, position in draw.COMPASS_POSITIONS.items()
}
_POINTS = "x:y (fractions 0..1 of the width and height)"
_POSITIONS = f"{', '.join(POSITION_COMPASS)} name the compass's places too"
SYNTAX = f"{'|'.join((*COMPASS, *DETECTED))} or {_POINTS}; {_POSITIONS}"
PLACE_SYNTAX = f"{'|'.join(COMPASS)} or {_POINTS}; {_POSITIONS}"
SMART_SIDE_PX = 256  # the detail search runs on a copy this small: fast, and shapes survive
SMART_POSITIONS = 33  # candidate windows along each free direction
_POINT = re.compile(r"^\s*([0-9.]+)\s*:\s*([0-9.]+)\s*$")


def gravity_param(name: str, *, default: str, description: str, detected: bool = True) -> Param:
    return Param(
        name=name, type="text", default=default, max_length=24,
        example="face" if detected else "nw",
        description=f"{description}: {SYNTAX if detected else PLACE_SYNTAX}.",
    )  # fmt: skip


def read(parameter: str, text: str, *, detected: bool = True) -> str:
    """The gravity as written canonically (`0.25:0.5` for a point), or a 422 naming it.
    detected=False: only places (compass points and x:y), not face or smart."""
    value = text.strip().lower()
    value = POSITION_COMPASS.get(value, value)
    if value in COMPASS or (detected and value in DETECTED):
        return value
    point = _point(value)
    if point is None:
        accepted = SYNTAX if detected else PLACE_SYNTAX
        raise InvalidParameter(parameter, text, "not a gravity", accepted=accepted)
    return f"{point[0]:g}:{point[1]:g}"


def check(value: str, *, detected: bool = True) -> str:
    """For pydantic validators (JSON edits): the same rule as read, as a ValueError."""
    try:
        return read("gravity", value, detected=detected)
    except InvalidParameter as exc:
        raise ValueError(f"not a gravity; accepted: {exc.accepted}") from None


def focus(gravity: str, frame: Frame, share: Share) -> Focus:
    """The focus point of `gravity` in `frame`, for keeping a window of `share`."""
    if gravity in COMPASS:
        return COMPASS[gravity]
    if gravity == "face":
        return _face(frame)
    if gravity == "smart":
        return _most_detailed(frame, share)
    point = _point(gravity)
    assert point is not None  # validated
    return point


def fixed_focus(gravity: str) -> Focus | None:
    """The focus point when no pixel is needed to find it."""
    if gravity in DETECTED:
        return None
    return COMPASS.get(gravity) or _point(gravity)


def region(share: Share, at: Focus) -> Region:
    """The window of `share` centred on `at`, moved inside the image; never outside it, even
    when float rounding makes a share a hair over 1."""
    width, height = (min(1.0, max(0.0, side)) for side in share)
    left = _clamp(at[0] - width / 2, 0.0, 1.0 - width)
    top = _clamp(at[1] - height / 2, 0.0, 1.0 - height)
    return (left, top, min(1.0, left + width), min(1.0, top + height))


def placed(room: int, at: float) -> int:
    """Where something leaving `room` pixels of free space starts, for a focus at `at`: 0 at
    0, centred at 0.5, flush with the far side at 1."""
    return round(_clamp(at, 0.0, 1.0) * room)


def _point(value: str) -> Focus | None:
    match = _POINT.match(value)
    if match is None:
        return None
    try:
        x, y = float(match.group(1)), float(match.group(2))
    except ValueError:
        return None
    return (x, y) if 0 <= x <= 1 and 0 <= y <= 1 else None


def _face(frame: Frame) -> Focus:
    # OpenCV loads where edits run (the sandbox preloads it), not in the API process.
    from runner.engine.image import faces

    box = faces.largest_face(frame)
    if box is None:
        return COMPASS["center"]
    left, top, right, bottom = box
    return (left + right) / 2 / frame.width, (top + bottom) / 2 / frame.height


def _most_detailed(frame: Frame, share: Share) -> Focus:
    energy = _edge_energy(frame)
    rows, columns = energy.shape
    window = (max(1, round(share[1] * rows)), max(1, round(share[0] * columns)))
    sums = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, best_at = -1.0, COMPASS["center"]
    for top in _positions(rows - window[0]):
        for left in _positions(columns - window[1]):
            bottom, right = top + window[0], left + window[1]
            total = sums[bottom, right] - sums[top, right] - sums[bottom, left] + sums[top, left]
            if total > best:
                best = float(total)
                best_at = ((left + window[1] / 2) / columns, (top + window[0] / 2) / rows)
    return best_at


def _edge_energy(frame: Frame) -> np.ndarray:
    grey = frame.convert("L")
    grey.thumbnail((SMART_SIDE_PX, SMART_SIDE_PX))
    luma = np.asarray(grey, dtype=np.float64)
    energy = np.zeros_like(luma)
    energy[:, 1:] += np.abs(np.diff(luma, axis=1))
    energy[1:, :] += np.abs(np.diff(luma, axis=0))
    return energy


def _positions(free: int) -> list[int]:
    if free <= 0:
        return [0]
    steps = min(free, SMART_POSITIONS - 1)
    return sorted({round(free * step / steps) for step in range(steps + 1)})


def _clamp(value: float, lowest: float, highest: float) -> float:
    return max(lowest, min(value, highest))
