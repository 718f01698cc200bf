"""Gravity: which part of an image is kept when a crop is smaller than it (resize with
fit=cover), or where something is placed inside a larger box (fit=pad, overlay).

Every gravity becomes a focus point, (x, y) as fractions of the image: a place
(runner.engine.places, the grammar every place parameter shares) is its fractions (a compass
point is a corner or the middle of a side, n = (0.5, 0); center is (0.5, 0.5); `x:y` is given
as is), `face` is the centre of the largest frontal face (OpenCV's Haar cascade, as headshot
uses; the centre when there is none), and `smart` is the centre of the window of the kept
shape holding the most detail: the sum of absolute luma gradients (edge energy) over candidate
windows slid across a copy no larger than SMART_SIDE_PX. The kept window is then centred on
the focus point and moved, as little as needed, to lie inside the image."""

import numpy as np

from runner.engine import places
from runner.engine.image.engine import Frame, Region
from runner.engine.ops.params import Param
from service.kernel.errors import InvalidParameter

Focus = tuple[float, float]  # x, y as fractions of the width and height
Share = tuple[float, float]  # the kept window's width and height, as fractions of the image
CENTER: Focus = places.PLACES["center"]
DETECTED = ("face", "smart")
# An image's gravity keeps a named place by the compass (`ne`, `center`), as its edits have
# always been written: a place read as a position (`top-right`, `1:0`) is kept so.
POSITION_COMPASS: dict[str, str] = {
    "center": "center",
    **{position: compass for compass, position in places.COMPASS_POSITIONS.items()},
}
SYNTAX = f"face or smart (found in the picture), or a place: {places.SYNTAX}"
SMART_SIDE_PX = 256  # the detail search runs on a copy this small: fast, and shapes survive
SMART_POSITIONS = 33  # candidate windows along each free direction


def gravity_param(name: str, *, default: str, description: str) -> Param:
    return Param(
        name=name, type="text", default=default, max_length=places.MAX_LENGTH, example="face",
        description=f"{description}: {SYNTAX}.",
    )  # fmt: skip


def read(parameter: str, text: str) -> str:
    """The gravity as written canonically (`face`, a compass point, `0.25:0.5`), or a 422
    naming it."""
    value = text.strip().lower()
    if value in DETECTED:
        return value
    return as_compass(places.read(parameter, text, unknown="not a gravity", accepted=SYNTAX))


def check(value: str) -> str:
    """For pydantic validators (JSON edits): the same rule as read, as a ValueError."""
    try:
        return read("gravity", value)
    except InvalidParameter as exc:
        raise ValueError(f"{exc.problem}; accepted: {exc.accepted}") from None


def as_compass(place: str) -> str:
    """A place as read (runner.engine.places) in an image gravity's spelling: a named place by
    the compass, a point as it is."""
    return POSITION_COMPASS.get(place, place)


def focus(gravity: str, frame: Frame, share: Share) -> Focus:
    """The focus point of `gravity` in `frame`, for keeping a window of `share`."""
    if gravity == "face":
        return _face(frame)
    if gravity == "smart":
        return _most_detailed(frame, share)
    return places.at(gravity)


def fixed_focus(gravity: str) -> Focus | None:
    """The focus point when no pixel is needed to find it."""
    return None if gravity in DETECTED else places.at(gravity)


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


def _face(frame: Frame) -> Focus:
    # OpenCV loads where edits run (the sandbox preloads it), not in the API process.
    from runner.engine.image import faces

    box = faces.largest_face(frame)
    if box is None:
        return CENTER
    left, top, right, bottom = box
    return (left + right) / 2 / frame.width, (top + bottom) / 2 / frame.height


def _most_detailed(frame: Frame, share: Share) -> Focus:
    energy = _edge_energy(frame)
    rows, columns = energy.shape
    window = (max(1, round(share[1] * rows)), max(1, round(share[0] * columns)))
    sums = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    best, best_at = -1.0, CENTER
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
