"""GIF output: a palette generated from frames spread over the whole timeline (FFmpeg's
palettegen, on a bounded sample so memory stays small), then every frame mapped onto it
with ordered dithering (paletteuse), which keeps neighbouring frames stable."""

from fractions import Fraction

import av
from av.filter import Graph
from av.video.frame import VideoFrame

from runner.engine.video.codecs import THREADS
from runner.engine.video.plan import Plan
from runner.engine.video.reader import TimelineReader

PALETTE_SAMPLES = 24  # frames the palette is made from
RGB = "rgb24"
# The filters and their arguments: colours counted over every frame sampled; ordered dithering
PALETTEGEN = ("palettegen", "stats_mode=full")
PALETTEUSE = ("paletteuse", "dither=bayer:bayer_scale=3:diff_mode=rectangle")


def palette(plan: Plan) -> VideoFrame:
    width, height = plan.video.size
    graph = Graph()
    graph.threads = THREADS
    source = graph.add_buffer(
        width=width, height=height, format=av.VideoFormat(RGB), time_base=Fraction(1, 100)
    )
    graph.link_nodes(source, graph.add(*PALETTEGEN), graph.add("buffersink"))
    graph.configure()
    with TimelineReader(plan, pix_fmt=RGB) as reader:
        for index in range(PALETTE_SAMPLES):
            image = reader.at(plan.duration * (index + 0.5) / PALETTE_SAMPLES).image
            image.pts, image.time_base = index, Fraction(1, 100)
            source.push(image)
    source.push(None)
    return graph.vpull()


class PaletteUse:
    """Maps frames onto one palette; push(None) at the end returns what is held."""

    def __init__(self, colours: VideoFrame, *, size: tuple[int, int], time_base: Fraction) -> None:
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
        self._frames.push(frame)
        mapped: list[VideoFrame] = []
        while True:
            try:
                mapped.append(self._sink.pull())  # type: ignore[arg-type]
            except (av.error.BlockingIOError, av.error.EOFError):
                return mapped
