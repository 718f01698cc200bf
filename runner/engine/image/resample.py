"""Lanczos resampling as two one-sided passes, each cut into bands that two threads share.

Pillow's resampling C releases the GIL, so two bands of one image run on both cores at once.
The bytes must not depend on how many bands or threads made them (identical edits are
identified by their operations, and results are content-addressed), and Pillow's single
`resize` cannot be cut into bands of output rows (`box=`): it chooses its pass order by the
sizes it is given, a band took the other order than the whole image, and came out up to 2
levels off. So each pass here changes one side only, and cuts across the other:

- the horizontal pass resamples the width of row bands: a row's result is its own row's;
- the vertical pass resamples the height of column bands: a column's result is its own.

Pillow computes a one-sided pass's coefficients from that side's span and sizes, which every
band shares, so any number of bands gives the bytes of one. The horizontal pass always comes
first. Pillow 13 orders a single call the same way unless the height shrinks much more than
the width; where the orders agree, the result is its single call's (exactly for a whole
image), and where they do not, within the few levels that rounding the intermediate image to
8 bits costs either order."""

import os
import threading
from collections.abc import Callable, Sequence
from functools import partial
from itertools import pairwise
from math import ceil
from pathlib import Path
from queue import Empty, SimpleQueue

from PIL import Image

Frame = Image.Image
Size = tuple[int, int]
Box = tuple[float, float, float, float]  # left, top, right, bottom, in source pixels
Span = tuple[float, float]  # start and end along one side, in source pixels
Cut = tuple[int, int]  # start and end of a band, in whole pixels
Placed = tuple[Frame, tuple[int, int]]  # a band's pixels, and where they go in the result

LANCZOS = Image.Resampling.LANCZOS
# Source pixels a Lanczos sample reads on either side, times the scale when shrinking.
LANCZOS_SUPPORT = 3.0
# Pillow resamples alpha premultiplied, so fully transparent pixels lend no colour.
_PREMULTIPLIED = {"LA": "La", "RGBA": "RGBa"}
THREADS = 2  # the calling thread and one more: the cores of the machines editroom is sized for
# A pass of less work than this (the pixels it makes times the source pixels each reads) runs
# as one band in the calling thread: about 1.5 ms of Lanczos on one core, below which a
# thread's start, and each band computing its own coefficients, cost more than they save.
MIN_BANDED_TAPS = 1_000_000
# Pixels a band makes, at most: large passes are cut finer than THREADS, so the bands in
# flight, and the copies they are cut from, stay small beside the image.
MAX_BAND_PIXELS = 2_000_000
# Its fourth field counts the threads runnable at this moment, over all that exist.
LOADAVG = Path("/proc/loadavg")
CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # this process's cgroup's quota, in a container too


def lanczos(frame: Frame, size: Size, *, box: Box, reducing_gap: float | None) -> Frame:
    """`box` of `frame` resampled to `size`: what Pillow's resize(size, LANCZOS, box,
    reducing_gap) makes, as two banded passes."""
    mode = frame.mode
    working = frame.convert(_PREMULTIPLIED[mode]) if mode in _PREMULTIPLIED else frame
    reduced, box = _reduced(working, size, box, gap=reducing_gap)
    resampled = _two_passes(reduced, size, box)
    return resampled.convert(mode) if resampled.mode != mode else resampled


def _reduced(frame: Frame, size: Size, box: Box, *, gap: float | None) -> tuple[Frame, Box]:
    """Pillow's reducing_gap step as its resize takes it: shrink by whole factors with reduce()
    while the Lanczos left to do still shrinks at least `gap` times. Returns the box in the
    reduced frame's pixels."""
    if gap is None:
        return frame, box
    left, top, right, bottom = box
    scales = ((right - left) / size[0], (bottom - top) / size[1])
    factors = (int(scales[0] / gap) or 1, int(scales[1] / gap) or 1)
    if factors == (1, 1):
        return frame, box
    spare = [(LANCZOS_SUPPORT - 0.5) * scale for scale in scales]  # as Pillow's _get_safe_box
    read = (
        max(0, int(left - spare[0])), max(0, int(top - spare[1])),
        min(frame.width, ceil(right + spare[0])), min(frame.height, ceil(bottom + spare[1])),
    )  # fmt: skip
    shifted = (
        (left - read[0]) / factors[0], (top - read[1]) / factors[1],
        (right - read[0]) / factors[0], (bottom - read[1]) / factors[1],
    )  # fmt: skip
    return frame.reduce(factors, box=read), shifted


def _two_passes(frame: Frame, size: Size, box: Box) -> Frame:
    """The width first, of only the rows the height's pass reads; then the height. A side
    left as it is, is not resampled (as Pillow skips it)."""
    width, height = size
    columns, rows = (box[0], box[2]), (box[1], box[3])
    if _resamples(columns, width, frame.width):
        read = _reach(rows, height, frame.height)  # the rows the vertical pass will read
        frame = _horizontal(frame, width=width, span=columns, rows=read)
        rows = (rows[0] - read[0], rows[1] - read[0])
    if _resamples(rows, height, frame.height):
        frame = _vertical(frame, height=height, span=rows)
    return frame


def _resamples(span: Span, count: int, length: int) -> bool:
    """Whether a pass along a side of `length` pixels changes anything (as Pillow decides)."""
    return span != (0, length) or count != length


def _horizontal(frame: Frame, *, width: int, span: Span, rows: Cut) -> Frame:
    """`rows` of the frame with their `span` of columns resampled to `width`, in row bands."""
    first, end = _reach(span, width, frame.width)
    left, right = span[0] - first, span[1] - first

    def band(cut: Cut) -> Placed:
        piece = _cropped(frame, (first, cut[0], end, cut[1]))
        tall = cut[1] - cut[0]
        resampled = piece.resize((width, tall), LANCZOS, box=(left, 0, right, tall))
        return resampled, (0, cut[0] - rows[0])

    cuts = _cuts(rows, across=width, taps=_taps(span, width))
    return _banded(band, cuts, mode=frame.mode, size=(width, rows[1] - rows[0]))


def _vertical(frame: Frame, *, height: int, span: Span) -> Frame:
    """The frame's `span` of rows resampled to `height`, in column bands."""
    first, end = _reach(span, height, frame.height)
    top, bottom = span[0] - first, span[1] - first

    def band(cut: Cut) -> Placed:
        piece = _cropped(frame, (cut[0], first, cut[1], end))
        wide = cut[1] - cut[0]
        return piece.resize((wide, height), LANCZOS, box=(0, top, wide, bottom)), (cut[0], 0)

    cuts = _cuts((0, frame.width), across=height, taps=_taps(span, height))
    return _banded(band, cuts, mode=frame.mode, size=(frame.width, height))


def _reach(span: Span, count: int, length: int) -> Cut:
    """The pixels of a side a pass resampling `span` to `count` pixels reads, by Pillow's
    bounds for its filter, with one to spare each way (Pillow rounds its box to float32). A
    pass given only these reads what it would read in the whole side."""
    start, end = span
    scale = (end - start) / count
    support = LANCZOS_SUPPORT * max(scale, 1.0)
    first = int(start + 0.5 * scale - support + 0.5) - 1
    last = int(start + (count - 0.5) * scale + support + 0.5) + 1
    return max(0, first), min(length, last)


def _taps(span: Span, count: int) -> int:
    """Source pixels each of a pass's `count` pixels reads at most, as Pillow sizes its filter."""
    return ceil(LANCZOS_SUPPORT * max((span[1] - span[0]) / count, 1.0)) * 2 + 1


def _cuts(extent: Cut, *, across: int, taps: int) -> list[Cut]:
    """`extent` cut into bands of nearly equal size, as many as the work asks for: the pass
    makes `across` pixels for each of the extent's, each reading `taps` source pixels. Cut
    only while a core is idle: when every core is busy (other edits), a second thread takes
    no time back and the cutting costs CPU. The bytes are the same either way."""
    start, end = extent
    pixels = (end - start) * across
    banded = pixels * taps >= MIN_BANDED_TAPS and a_core_is_idle()
    count = max(THREADS, ceil(pixels / MAX_BAND_PIXELS)) if banded else 1
    count = min(count, end - start)
    edges = [start + (end - start) * number // count for number in range(count + 1)]
    return list(pairwise(edges))


def a_core_is_idle(loadavg: Path = LOADAVG, cpu_max: Path = CPU_MAX) -> bool:
    """Whether fewer threads are running at this moment than this process has cores: the
    kernel's count of runnable threads (this one among them; in a container, the host's, so
    a busy host cuts less) against the cores it may run on and its cgroup's CPU quota."""
    try:
        running = int(loadavg.read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return False  # not Linux, or no /proc: one band, as on a busy machine
    return running < min(len(os.sched_getaffinity(0)), _quota_cores(cpu_max))


def _quota_cores(cpu_max: Path) -> float:
    """The whole cores a cgroup v2 quota allows ("250000 100000": 2; a part of a core is
    throttled away as soon as a second thread runs), or infinity without one."""
    try:
        quota, period = cpu_max.read_text().split()
        return max(1, int(quota) // int(period))
    except (OSError, ValueError):  # no cgroup v2 here, or "max": no quota
        return float("inf")


def _cropped(frame: Frame, box: tuple[int, int, int, int]) -> Frame:
    return frame if box == (0, 0, *frame.size) else frame.crop(box)


def _banded(band: Callable[[Cut], Placed], cuts: list[Cut], *, mode: str, size: Size) -> Frame:
    """The result of `size` made of each cut's band, pasted where it goes."""
    if len(cuts) == 1:
        return band(cuts[0])[0]
    result = Image.new(mode, size)

    def place(cut: Cut) -> None:
        pixels, at = band(cut)
        result.paste(pixels, at)  # bands never overlap: pastes may run at once

    _shared([partial(place, cut) for cut in cuts])
    return result


def _shared(tasks: Sequence[Callable[[], None]]) -> None:
    """Run the tasks on THREADS threads, the calling thread among them, each thread taking the
    next task not yet taken, and return once all have ended: no thread outlives the call (a
    sandbox child serving another job must have none left). A thread that starts late, or
    cannot start (no memory left for its stack), leaves its tasks to the others, which make
    the same pixels. What a task raised is raised here, the earliest task's first."""
    waiting: SimpleQueue[int] = SimpleQueue()
    for number in range(len(tasks)):
        waiting.put(number)
    failures: list[BaseException | None] = [None] * len(tasks)

    def work() -> None:
        while True:
            try:
                number = waiting.get_nowait()
            except Empty:
                return
            try:
                tasks[number]()
            except BaseException as exc:  # carried to the calling thread, raised there
                failures[number] = exc
                return

    helpers = [_started(work) for _ in range(min(THREADS, len(tasks)) - 1)]
    work()
    for helper in helpers:
        if helper is not None:
            helper.join()
    failure = next((failure for failure in failures if failure is not None), None)
    if failure is not None:
        raise failure


def _started(work: Callable[[], None]) -> threading.Thread | None:
    helper = threading.Thread(target=work, name="resample-band")
    try:
        helper.start()
    except RuntimeError:  # "can't start new thread": its stack did not fit the memory limit
        return None
    return helper
