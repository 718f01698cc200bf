"""FFmpeg refusing what it is asked to make of the result (the sound's tempo)
fails the edit naming the result and the step, never the source being read meanwhile."""

import pytest
from av.audio.resampler import AudioResampler

from runner.engine.video import audio
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make


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
