"""resize's Lanczos in bands on two threads: the same bytes whatever the bands and threads
(results are content-addressed), within a level of Pillow's single resize where it orders its
passes as ours, and no thread left behind or error lost."""

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from runner.engine.image import engine, resample
from runner.engine.image.engine import WHOLE, Frame, Region, Size
from tests.unit.image.pictures import astronaut

MODES = ("L", "LA", "RGB", "RGBA")
INSIDE: Region = (0.1, 0.23, 0.77, 0.9)
# (source size, result size, region): shrinking a little and a lot (reduce() first), evenly
# and not, enlarging, stretching, regions, and images of a pixel or a few.
GEOMETRIES: tuple[tuple[Size, Size, Region], ...] = (
    ((512, 512), (400, 400), WHOLE),
    ((512, 512), (37, 29), WHOLE),
    ((512, 512), (1100, 700), WHOLE),
    ((512, 512), (900, 120), WHOLE),
    ((512, 512), (120, 900), INSIDE),
    ((512, 384), (301, 173), INSIDE),
    ((512, 384), (512, 100), WHOLE),
    ((512, 384), (90, 384), (0.25, 0.0, 0.75, 1.0)),
    ((3, 2), (50, 40), WHOLE),
    ((1, 1), (7, 5), WHOLE),
    ((512, 512), (1, 1), WHOLE),
)
# Where Pillow 13's single call also resamples the width first (the height does not shrink
# much more than the width).
ORDERED_AS_PILLOW = (GEOMETRIES[0], GEOMETRIES[1], GEOMETRIES[2], GEOMETRIES[5], GEOMETRIES[8])
ONE_BAND = 10**12  # a pass of this much work, or a band of this many pixels: never reached
a_core_is_idle = resample.a_core_is_idle  # the real one: the fixture below stands in for it


@pytest.fixture(autouse=True)
def idle_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Passes are cut only while a core is idle; here, whatever else the machine runs."""
    monkeypatch.setattr(resample, "a_core_is_idle", lambda: True)


def photo(mode: str, size: Size) -> Frame:
    """A photograph in `mode`; with alpha, a gradient with a clear disc, as a logo's edges."""
    picture = astronaut().resize(size, Image.Resampling.BICUBIC)
    if mode in ("L", "LA"):
        picture = picture.convert("L")
    if mode in ("LA", "RGBA"):
        alpha = Image.linear_gradient("L").resize(size)
        ImageDraw.Draw(alpha).ellipse(
            (size[0] / 4, size[1] / 4, size[0] * 3 / 4, size[1] * 3 / 4), fill=0
        )
        picture.putalpha(alpha)
    return picture


def resized(
    monkeypatch: pytest.MonkeyPatch, frame: Frame, size: Size, region: Region, *, bands: str
) -> Frame:
    """engine.resize with every pass in one band, or in many (each at most a seventh of the
    result's pixels)."""
    fine = max(1, size[0] * size[1] // 7)
    monkeypatch.setattr(resample, "MIN_BANDED_TAPS", ONE_BAND if bands == "one" else 1)
    monkeypatch.setattr(resample, "MAX_BAND_PIXELS", ONE_BAND if bands == "one" else fine)
    return engine.resize(frame, size, region=region)


def pillow(frame: Frame, size: Size, region: Region) -> Frame:
    """Pillow's single call, as engine.resize made it before the bands."""
    width, height = frame.size
    box = (region[0] * width, region[1] * height, region[2] * width, region[3] * height)
    shrinking = size[0] < box[2] - box[0] and size[1] < box[3] - box[1]
    gap = engine.REDUCING_GAP if shrinking else None
    return frame.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=gap)


def levels_apart(a: Frame, b: Frame) -> int:
    """The largest difference in any channel, alpha premultiplied (what is seen: the colour
    of a pixel with next to no alpha is not)."""
    premultiplied = {"LA": "La", "RGBA": "RGBa"}
    if a.mode in premultiplied:
        a, b = a.convert(premultiplied[a.mode]), b.convert(premultiplied[b.mode])
    return int(np.abs(np.asarray(a, dtype=int) - np.asarray(b, dtype=int)).max())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("source", "size", "region"), GEOMETRIES)
def test_bands_give_the_bytes_of_one_band(
    monkeypatch: pytest.MonkeyPatch, mode: str, source: Size, size: Size, region: Region
) -> None:
    frame = photo(mode, source)
    whole = resized(monkeypatch, frame, size, region, bands="one")
    cut = resized(monkeypatch, frame, size, region, bands="many")
    assert (cut.mode, cut.size) == (mode, size)
    assert cut.tobytes() == whole.tobytes()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("source", "size", "region"), ORDERED_AS_PILLOW)
def test_within_a_level_of_pillows_single_resize(
    monkeypatch: pytest.MonkeyPatch, mode: str, source: Size, size: Size, region: Region
) -> None:
    frame = photo(mode, source)
    ours = resized(monkeypatch, frame, size, region, bands="many")
    assert levels_apart(ours, pillow(frame, size, region)) <= 1


def test_a_photo_scaled_evenly_is_pillows_single_resize_exactly() -> None:
    """The bench's edit: a whole photograph to 800 wide, cut in two bands by default."""
    frame = photo("RGB", (1000, 750))
    assert engine.resize(frame, (800, 600)).tobytes() == pillow(frame, (800, 600), WHOLE).tobytes()


@pytest.mark.parametrize("mode", MODES)
def test_where_pillow_orders_its_passes_otherwise_the_difference_is_a_few_levels(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """512x512 to 900x120: Pillow 13 resamples the height first; rounding the intermediate
    image to 8 bits puts either order within about 10 levels of exact arithmetic on sharp
    edges, and ours within 13 of Pillow's (measured 11 opaque, 13 premultiplied)."""
    frame = photo(mode, (512, 512))
    ours = resized(monkeypatch, frame, (900, 120), WHOLE, bands="many")
    assert levels_apart(ours, pillow(frame, (900, 120), WHOLE)) <= 13


def test_no_thread_outlives_a_resize() -> None:
    """A sandbox child replaces itself after a job that left a thread running."""
    before = threading.active_count()
    engine.resize(photo("RGB", (1000, 750)), (800, 600))
    assert threading.active_count() == before


def test_two_threads_share_the_bands() -> None:
    """Each task waits for the other at a barrier: they can only pass it on two threads."""
    both = threading.Barrier(2, timeout=30)
    ran_on: list[str] = []

    def task() -> None:
        both.wait()
        ran_on.append(threading.current_thread().name)

    resample._shared([task, task])
    assert sorted(ran_on) == sorted([threading.current_thread().name, "resample-band"])


def test_what_a_band_raises_on_the_other_thread_is_raised_by_the_resize() -> None:
    both = threading.Barrier(2, timeout=30)

    def waits() -> None:
        both.wait()

    def runs_out() -> None:
        both.wait()
        raise MemoryError("no memory for the band")

    with pytest.raises(MemoryError, match="no memory for the band"):
        resample._shared([waits, runs_out])


def test_the_earliest_band_s_error_is_the_one_raised() -> None:
    both = threading.Barrier(2, timeout=30)

    def fails(message: str) -> None:
        both.wait()
        raise ValueError(message)

    with pytest.raises(ValueError, match="first"):
        resample._shared([lambda: fails("first"), lambda: fails("second")])


def test_a_thread_that_cannot_start_leaves_its_bands_to_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under the sandbox's memory limit a thread's stack may not fit: same pixels, one thread."""
    frame = photo("RGBA", (1000, 750))
    expected = resized(monkeypatch, frame, (800, 600), WHOLE, bands="one").tobytes()

    def refuse(thread: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    assert resized(monkeypatch, frame, (800, 600), WHOLE, bands="many").tobytes() == expected


def test_a_small_resize_stays_on_the_calling_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each frame of a small animation: a thread would cost more than it saves."""

    def no_thread(thread: threading.Thread) -> None:
        raise AssertionError("a thread was started")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    assert engine.resize(photo("RGBA", (320, 240)), (160, 120)).size == (160, 120)


def test_a_busy_machine_resizes_in_one_band_on_the_calling_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every core busy with other edits: a second thread would take no time back."""
    frame = photo("RGB", (1000, 750))
    cut = engine.resize(frame, (800, 600)).tobytes()
    monkeypatch.setattr(resample, "a_core_is_idle", lambda: False)

    def no_thread(thread: threading.Thread) -> None:
        raise AssertionError("a thread was started")

    monkeypatch.setattr(threading.Thread, "start", no_thread)
    assert engine.resize(frame, (800, 600)).tobytes() == cut


@pytest.mark.parametrize(
    ("loadavg", "idle"),
    [
        ("0.52 0.31 0.20 1/165 7110\n", True),  # only this thread runs
        ("1.90 1.70 1.20 2/170 7111\n", False),  # another runs beside it on the other core
        ("3.10 2.00 1.50 5/170 7112\n", False),
        ("garbled\n", False),
    ],
)
def test_a_core_is_idle_while_fewer_threads_run_than_there_are_cores(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, loadavg: str, idle: bool
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    path = tmp_path / "loadavg"
    path.write_text(loadavg)
    assert a_core_is_idle(path, tmp_path / "no-cgroup") is idle


@pytest.mark.parametrize(
    ("cpu_max", "idle"),
    [("max 100000\n", True), ("400000 100000\n", True), ("150000 100000\n", False)],
)
def test_a_cgroup_quota_under_two_cores_leaves_no_core_idle(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cpu_max: str, idle: bool
) -> None:
    """A container allowed 1.5 cores on a big host: its one running thread already uses the
    share a second would need."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(64)))
    (tmp_path / "loadavg").write_text("0.52 0.31 0.20 1/165 7110\n")
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert a_core_is_idle(tmp_path / "loadavg", tmp_path / "cpu.max") is idle


def test_without_proc_no_core_counts_as_idle(tmp_path: Path) -> None:
    assert a_core_is_idle(tmp_path / "missing", tmp_path / "no-cgroup") is False
