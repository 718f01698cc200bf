"""GIF output: a palette generated from frames spread over the whole timeline (FFmpeg's
palettegen, on a bounded sample so memory stays small), then every frame mapped onto it
with ordered dithering (paletteuse), which keeps neighbouring frames stable. FFmpeg refusing
either filter (its arguments, or the frames given it) fails the edit naming the result, not
the source being read meanwhile (failed_making); reading the samples stays the source's."""

from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction

import av
from av.filter import Graph
from av.filter.context import FilterContext
from av.video.frame import VideoFrame

from runner.engine.video.codecs import THREADS
from runner.engine.video.plan import Plan
from runner.engine.video.probe import failed_making
from runner.engine.video.reader import TimelineReader

DELAY_CLOCK = Fraction(1, 100)  # seconds: a GIF times each frame in hundredths of a second
PALETTE_SAMPLES = 24  # frames the palette is made from
RGB = "rgb24"
SAMPLE_TIME_BASE = Fraction(1, 100)  # the samples' timestamps count them, nothing more
# The filters and their arguments: colours counted over every frame sampled; ordered dithering
PALETTEGEN = ("palettegen", "stats_mode=full")
PALETTEUSE = ("paletteuse", "dither=bayer:bayer_scale=3:diff_mode=rectangle")


@contextmanager
def _refusals(step: tuple[str, str]) -> Iterator[None]:
    try:
        yield
    except av.error.FFmpegError as exc:
        failed_making(exc, f"the result's frames cannot be made ({step[0]})")


def palette(plan: Plan) -> VideoFrame:
    with _refusals(PALETTEGEN):
        graph, source = _palettegen(plan.video.size)
    with TimelineReader(plan, pix_fmt=RGB) as reader:
        reader.learn_keyframes()  # the samples, in time order, then read on between keyframes
        for index in range(PALETTE_SAMPLES):
            image = reader.at(plan.duration * (index + 0.5) / PALETTE_SAMPLES).image
            image.pts, image.time_base = index, SAMPLE_TIME_BASE
            with _refusals(PALETTEGEN):
                source.push(image)
    with _refusals(PALETTEGEN):
        source.push(None)
        return graph.vpull()


def _palettegen(size: tuple[int, int]) -> tuple[Graph, FilterContext]:
    graph = Graph()
    graph.threads = THREADS
    source = graph.add_buffer(
        width=size[0], height=size[1], format=av.VideoFormat(RGB), time_base=SAMPLE_TIME_BASE
    )
    graph.link_nodes(source, graph.add(*PALETTEGEN), graph.add("buffersink"))
    graph.configure()
    return graph, source


class PaletteUse:
    """Maps frames onto one palette; push(None) at the end returns what is held."""

    def __init__(self, colours: VideoFrame, *, size: tuple[int, int], time_base: Fraction) -> None:
        with _refusals(PALETTEUSE):
            self._build(colours, size=size, time_base=time_base)

    def _build(self, colours: VideoFrame, *, size: tuple[int, int], time_base: Fraction) -> None:
        graph = Graph()
        graph.threads = THREADS
        self._frames = graph.add_buffer(
            width=size[0], height=size[1], format=av.VideoFormat(RGB), time_base=time_base
        )
        colour_source = graph.add_buffer(
            width=colours.width, height=colours.height, format=colours.format, time_base=time_base
        )
        use = graph.add(*PALETTEUSE)
        self._sink = graph.add("buffersink")
        self._frames.link_to(use, 0, 0)
        colour_source.link_to(use, 0, 1)
        use.link_to(self._sink)
        graph.configure()
        self._graph = graph  # the filter contexts above die with it
        colours.pts = 0
        colour_source.push(colours)
        colour_source.push(None)  # one palette for every frame

    def __call__(self, frame: VideoFrame | None) -> list[VideoFrame]:
        with _refusals(PALETTEUSE):
            self._frames.push(frame)
            return _drain(self._sink)


def _drain(sink: FilterContext) -> list[VideoFrame]:
    mapped: list[VideoFrame] = []
    while True:
        try:
            mapped.append(sink.pull())  # type: ignore[arg-type]
        except (av.error.BlockingIOError, av.error.EOFError):
            return mapped
