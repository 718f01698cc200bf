"""Decoded frames made into frames of the result: upright (rotation metadata applied),
at the result's size (stretched to it, or letterboxed when the aspect differs, as for a
concatenated video shaped unlike the first), in the encoder's pixel format."""

import math
from collections.abc import Sequence
from fractions import Fraction

import av
from av.filter import Graph
from av.video.frame import VideoFrame

from runner.engine.video.codecs import THREADS
from runner.engine.video.probe import failed_making

ASPECT_TOLERANCE = 0.01  # relative: closer than this is the same shape, stretched not padded
_TURN = {90: ["transpose=cclock"], 180: ["hflip", "vflip"], 270: ["transpose=clock"]}


def same_shape(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] / a[1] - b[0] / b[1]) <= ASPECT_TOLERANCE * (b[0] / b[1])


def chain(
    *,
    rotation: int,
    size: tuple[int, int],
    letterbox: bool,
    pix_fmt: str,
    base: tuple[int, int] | None = None,
    geometry: Sequence[str] = (),
) -> list[str]:
    """The FFmpeg filters, in order, for one source's frames. `geometry` (crop, rotate,
    flip) works on the picture at `base`, the first source's upright shape; the result is
    then scaled to `size`."""
    if not geometry:
        return _boxed(rotation, size, letterbox, pix_fmt)
    assert base is not None
    shaped = _boxed(rotation, base, letterbox, pix_fmt)[:-2]
    return [*shaped, *geometry, f"scale={size[0]}:{size[1]}", "setsar=1", f"format={pix_fmt}"]


def _boxed(rotation: int, size: tuple[int, int], letterbox: bool, pix_fmt: str) -> list[str]:
    width, height = size
    if letterbox:
        fit = f"scale={width}:{height}:force_original_aspect_ratio=decrease:force_divisible_by=2"
        box = [fit, f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:black"]
    else:
        box = [f"scale={width}:{height}"]
    return [*_TURN.get(rotation, []), *box, "setsar=1", f"format={pix_fmt}"]


class Conformer:
    """One filter graph per source, built on its first frame (whose format it takes)."""

    def __init__(self, filters: list[str], *, time_base: Fraction) -> None:
        self._filters = filters
        self._time_base = time_base
        self._graph: Graph | None = None

    def push(self, frame: VideoFrame | None) -> list[VideoFrame]:
        try:
            if self._graph is None:
                if frame is None:
                    return []
                self._graph = self._build(frame)
            self._graph.vpush(frame)
            return _drain(self._graph)
        except av.error.FFmpegError as exc:
            steps = ", ".join(_split(text)[0] for text in self._filters)
            failed_making(exc, f"the result's frames cannot be made ({steps})")

    def _build(self, frame: VideoFrame) -> Graph:
        graph = Graph()
        graph.threads = THREADS
        nodes = [
            graph.add_buffer(
                width=frame.width, height=frame.height, format=frame.format,
                time_base=self._time_base,
            ),
            *(graph.add(*_split(text)) for text in self._filters),
            graph.add("buffersink"),
        ]  # fmt: skip
        graph.link_nodes(*nodes).configure()
        return graph


def _split(text: str) -> tuple[str, str | None]:
    name, _, args = text.partition("=")
    return name, args or None


def _drain(graph: Graph) -> list[VideoFrame]:
    frames: list[VideoFrame] = []
    while True:
        try:
            frames.append(graph.vpull())
        except (av.error.BlockingIOError, av.error.EOFError):
            return frames


class ConstantRate:
    """Places frames on a constant-rate grid as FFmpeg's fps filter does: a frame takes the
    slot nearest its time (a tie to the later slot); of several frames for one slot the last
    is kept; a gap is filled by repeating the frame before it, however long (a slide shown
    for 12 s): the frames given are those of the planned result, whose length make_plan
    bounds (a timestamp past a segment's end is never placed), so the slots are too. A frame
    is held until the next one says whether it keeps its slot: `place` and `close` give the
    (slot, frame) pairs settled, in order; one frame may fill several slots, so set each
    pair's pts just before sending it."""

    TIE_SLOTS = 0.01

    def __init__(self, rate: Fraction) -> None:
        self.rate = rate
        self._held: VideoFrame | None = None
        self._held_slot = -1
        self._next_slot = 0  # the first slot not filled yet

    def place(self, frame: VideoFrame, seconds: float) -> list[tuple[int, VideoFrame]]:
        slot = self._slot(seconds)
        if slot < self._next_slot:
            return []  # filled already (by the frame before a segment's end, say)
        if self._held is not None and slot <= self._held_slot:
            if slot == self._held_slot:
                self._held = frame  # the later of two frames for one slot
            return []  # a frame before the one held: its slot is taken
        settled = self._release(until=slot)
        self._held, self._held_slot = frame, slot
        return settled

    def close(self, until_seconds: float) -> list[tuple[int, VideoFrame]]:
        """The frame held, shown until `until_seconds` (its end on the result's timeline).
        Were its slot that end's (it would be shown after the end), it is left out, as the
        fps filter does, unless no frame was placed yet (a result is never empty)."""
        until = self._slot(until_seconds)
        if self._held_slot >= until and self._next_slot > 0:
            self._held = None
        settled = self._release(until=until)
        self._held = None
        return settled

    def _slot(self, seconds: float) -> int:
        """The nearest slot; a tie (within TIE_SLOTS, which a timestamp's rounding to its
        time base stays within) to the later one."""
        return math.floor(seconds * self.rate + 0.5 + self.TIE_SLOTS)

    def _release(self, *, until: int) -> list[tuple[int, VideoFrame]]:
        """The frame held in its slot (and in any before it still empty: the first frame of
        a result fills its start), then again in each slot before `until`."""
        held = self._held
        if held is None:
            return []
        first, stop = self._next_slot, max(self._held_slot + 1, until)
        self._next_slot = max(self._next_slot, stop)
        return [(slot, held) for slot in range(first, stop)]
