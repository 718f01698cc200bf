"""FFmpeg refusing what it is asked to make of the result (the sound's resampling and tempo, a
GIF's palette, the pictures text is burned into, a smart cut's re-encoded frames) fails the
edit naming the result and the step, never the source being read meanwhile."""

from typing import Any, NoReturn

import av
import pytest
from av.audio.resampler import AudioResampler
from av.filter import Graph

from runner.engine.video import audio, gif, recode, transcode
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make
from tests.unit.video.test_storage_errors import INVALID_DATA, ffmpeg_error


def test_a_tempo_refusing_its_factor_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audio, "tempo_factors", lambda speed: [0.01])  # atempo: 0.5 to 100
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("speed", "2")])
    assert str(refused.value) == (
        "the result's sound cannot be made (atempo, aformat): Numerical result out of range"
    )


def test_a_tempo_refusing_the_sound_pushed_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sound at another rate than the tempo's graph was built for: abuffer refuses it."""

    def halved(*, format: str, layout: str, rate: int) -> AudioResampler:
        return AudioResampler(format=format, layout=layout, rate=rate // 2)

    monkeypatch.setattr(audio, "AudioResampler", halved)
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("speed", "2")])
    assert (
        str(refused.value)
        == "the result's sound cannot be made (atempo, aformat): Invalid argument"
    )


def test_a_resampler_refusing_the_sound_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """44.1 kHz sound made Opus at 48 kHz is resampled: FFmpeg refuses a resampler it lacks."""

    def misconfigured(*, format: str, layout: str, rate: int) -> AudioResampler:
        options = {"resampler": "nonsense"}
        return AudioResampler(format=format, layout=layout, rate=rate, options=options)

    monkeypatch.setattr(audio, "AudioResampler", misconfigured)
    with pytest.raises(EditFailed) as refused:
        edit(make(sample_rate=44_100), [("acodec", "opus")])
    assert str(refused.value) == "the result's sound cannot be made (aresample): Invalid argument"


def _refusing(*args: object, **kwargs: object) -> NoReturn:
    raise ffmpeg_error(av.error.InvalidDataError, INVALID_DATA, "")


def test_text_refused_while_burned_in_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The frames are converted to RGB and back (swscale) for the text to be drawn on them."""
    monkeypatch.setattr(transcode, "burned", _refusing)
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("text", "HELLO")])
    assert str(refused.value) == (
        "the result's frames cannot be made (text, overlay): "
        "Invalid data found when processing input"
    )


def test_a_smart_cuts_frames_refused_for_its_encoder_name_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head of an accurate cut is re-encoded: its frames converted to the encoder's pixel
    format first (on the head's thread, whose error is raised again in the edit's)."""
    monkeypatch.setattr(recode, "_plain", _refusing)
    with pytest.raises(EditFailed) as refused:
        edit(make(bframes=2), [("trim", "1.25,2.5")])
    assert str(refused.value) == (
        "the result's frames cannot be made (format): Invalid data found when processing input"
    )


@pytest.mark.parametrize(
    ("constant", "step"),
    [("PALETTEGEN", "palettegen"), ("PALETTEUSE", "paletteuse")],
)
def test_a_gif_palette_step_refusing_its_arguments_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, constant: str, step: str
) -> None:
    monkeypatch.setattr(gif, constant, (step, "nonsense=1"))
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("format", "gif")])
    assert str(refused.value).startswith(f"the result's frames cannot be made ({step}): ")


@pytest.mark.parametrize("step", ["palettegen", "paletteuse"])
def test_a_gif_palette_step_refusing_the_frames_names_the_result(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    monkeypatch.setattr(gif, "Graph", lambda: RefusingGraph(step))
    with pytest.raises(EditFailed) as refused:
        edit(make(), [("format", "gif")])
    assert str(refused.value) == (
        f"the result's frames cannot be made ({step}): Invalid data found when processing input"
    )


class RefusingGraph:
    """A real filter graph, except that once it holds `step`, the picture's frames pushed into
    it are refused (InvalidDataError), as FFmpeg refuses data a filter cannot take."""

    def __init__(self, step: str) -> None:
        self.__dict__.update(real=Graph(), step=step, names=[])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.real, name, value)

    def add(self, name: str, *args: Any) -> Any:
        self.names.append(name)
        return self.real.add(name, *args)

    def add_buffer(self, **kwargs: Any) -> Any:
        return RefusingBuffer(self.real.add_buffer(**kwargs), self)

    def link_nodes(self, *nodes: Any) -> Any:
        return self.real.link_nodes(*(getattr(node, "real", node) for node in nodes))


class RefusingBuffer:
    def __init__(self, real: Any, graph: RefusingGraph) -> None:
        self.real, self._graph = real, graph

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def push(self, frame: av.VideoFrame | None) -> None:
        picture = frame is not None and frame.format.name == gif.RGB  # not the palette
        if picture and self._graph.step in self._graph.names:
            raise ffmpeg_error(av.error.InvalidDataError, INVALID_DATA, "")
        self.real.push(frame)
