"""speed, fps, mute, volume, audio=extract, crf/bitrate/preset and the hvc1 tag: stream facts
a player shows."""

from pathlib import Path

import av
import numpy as np
import pytest

from runner.engine.ops.base import MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_query
from runner.engine.video.audio import tempo_factors
from service.kernel.errors import EditFailed, InvalidParameter
from tests.unit.video.conftest import LIMITS, Edit, Make
from tests.unit.video.media import (
    AUDIO_FRAME_SECONDS,
    Spec,
    assert_in_sync,
    bursts,
    facts,
    numbers,
    packets,
    shown,
    stream_end,
)

FRAME_SECONDS = 1 / 24  # of the test sources


def average_rate(path: Path) -> float:
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
        assert rate is not None
        return float(rate)


def video_seconds(path: Path) -> float:
    """How long the picture lasts: its stream's own duration, not the container's."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.duration is not None and video.time_base is not None
        return float(video.duration * video.time_base)


def peak(path: Path) -> float:
    with av.open(str(path)) as container:
        return max(float(np.abs(frame.to_ndarray()).max()) for frame in container.decode(audio=0))


def tag(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.video[0].codec_tag


SPED = {  # the 72 frames of the 3 s sources
    2.0: list(range(0, 72, 2)),
    4.0: list(range(1, 72, 4)),
    0.5: [number for number in range(72) for _ in range(2)],
}


@pytest.mark.parametrize("speed", [2.0, 0.5, 4.0])
def test_speed_scales_the_duration_and_keeps_sound_with_picture(
    make: Make, edit: Edit, speed: float
) -> None:
    (result,) = edit(make(), [("speed", str(speed))])
    assert video_seconds(result) == pytest.approx(3.0 / speed, abs=0.01)
    assert average_rate(result) == pytest.approx(24.0)  # the source's, as ffmpeg keeps it
    # On the source's grid as FFmpeg's fps filter puts them (the nearest slot, a tie to the
    # later, the last frame of a slot kept): faster drops frames, slower shows each again.
    assert numbers(result) == SPED[speed]
    frames = shown(result)
    heard = [b for i, b in enumerate(bursts(result)) if i == 0 or b - bursts(result)[i - 1] > 0.1]
    assert len(heard) == 3  # the bursts made with frames 0, 24 and 48 (0, 1 and 2 s)
    for burst, number in zip(heard, (0, 24, 48), strict=True):
        # when its frame is shown (at speed 4 the grid keeps the one after it in its slot)
        on_screen = next(at for at, shown_number in frames if shown_number >= number)
        assert burst == pytest.approx(
            on_screen, abs=max(FRAME_SECONDS / speed, AUDIO_FRAME_SECONDS)
        )


@pytest.mark.parametrize(
    ("rate", "query"), [(24, []), (10, []), (10, [("format", "gif")])], ids=["24", "10", "10-gif"]
)
def test_a_trim_slowed_down_starts_on_the_frame_on_screen_at_start(
    make: Make, edit: Edit, rate: int, query: list[tuple[str, str]]
) -> None:
    """trim=1.53,4.21&speed=0.5 shows from the start the frame on screen at 1.53 s (that of
    1.5 s) and lasts 5.36 s; the burst of the source's 2 s is heard with its frame, 0.94 s in.
    The first frame after START, 0.02 s (24 fps) or 0.07 s (10 fps) after it, is under the
    0.1 s that keeps an unsped trim's frame before START: it took the grid's first slot, the
    frame of 1.5 s never shown, and at 10 fps the grid's last slot ran on to 5.4 s."""
    source = make(seconds=6.0, rate=rate, container="mkv")
    (result,) = edit(source, [("trim", "1.53,4.21"), ("speed", "0.5"), *query])
    frames = shown(result)
    assert frames[0] == (0.0, round(1.5 * rate))
    assert stream_end(result) == pytest.approx(5.36, abs=FRAME_SECONDS / 2)
    if query:
        return  # a GIF has no sound
    # atempo's overlapping windows spread a burst, as the test of speed alone allows
    assert bursts(result)[0] == pytest.approx(0.94, abs=FRAME_SECONDS / 0.5)
    assert next(number for at, number in frames if at >= 0.94 - 0.001) == 2 * rate


TRIMMED = {  # picture + sound of trim=1.53,4.21
    "copy + copied sound": [],
    "copy + re-encoded sound": [("volume", "0.9")],
    "re-encode + re-encoded sound": [("format", "webm")],
    "re-encode + copied sound": [("resize", "80x48")],
}


@pytest.mark.parametrize("rate", [10, 12, 24])
@pytest.mark.parametrize("result", TRIMMED)
def test_a_trim_hears_each_burst_with_its_frame(
    make: Make, edit: Edit, result: str, rate: int
) -> None:
    """The burst of the source's 2 s is 0.47 s into trim=1.53,4.21, with its frame. Sound is
    decoded from the keyframe before START: a frame of it ending before START, but starting
    within 40 ms of it, passed for a timestamp's jitter and was written from the result's
    start, all the sound after it as late as it was early (37 ms at 10 and 12 fps, where
    the seek lands on a keyframe long before START; 15 ms at 24 fps)."""
    spec = Spec(seconds=6.0, rate=rate)
    (trimmed,) = edit(make(seconds=6.0, rate=rate), [("trim", "1.53,4.21"), *TRIMMED[result]])
    assert_in_sync(trimmed, specs=[spec])
    if "re-encoded sound" in result:  # placed sample by sample: exact
        assert bursts(trimmed)[0] == pytest.approx(0.47, abs=0.002)


def test_atempo_factors_stay_within_its_range() -> None:
    assert tempo_factors(4.0) == [2.0, 2.0]
    assert tempo_factors(0.25) == [0.5, 0.5]
    assert tempo_factors(3.0) == [2.0, 1.5]


@pytest.mark.parametrize("fps", ["30", "10"])
def test_slowed_down_onto_a_grid_the_last_frame_lasts_its_whole_time(
    make: Make, edit: Edit, fps: str
) -> None:
    """3 s at a quarter of the speed is 12 s, the last frame shown for 4 of its durations."""
    (result,) = edit(make(), [("speed", "0.25"), ("fps", fps)])
    assert video_seconds(result) == pytest.approx(12.0, abs=0.01)
    assert average_rate(result) == pytest.approx(int(fps))


def test_fps_changes_the_frame_rate_not_the_duration(make: Make, edit: Edit) -> None:
    (result,) = edit(make(), [("fps", "10")])
    assert average_rate(result) == pytest.approx(10.0)
    assert facts(result).duration == pytest.approx(3.0, abs=0.15)


def test_mute_drops_the_sound_and_copies_the_video(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("mute", "")])
    assert facts(result).codecs == {"video": "h264"}
    assert packets(result) == packets(source)


@pytest.mark.parametrize(("volume", "ratio"), [("0.5", 0.5), ("-6dB", 0.501), ("1.2", 1.2)])
def test_volume_scales_the_sound(make: Make, edit: Edit, volume: str, ratio: float) -> None:
    source = make()
    (result,) = edit(source, [("volume", volume)])
    assert peak(result) / peak(source) == pytest.approx(ratio, rel=0.1)
    assert packets(result) == packets(source)  # the video is still copied


def test_audio_extract_copies_aac_into_m4a(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("audio", "extract")])
    assert result.suffix == ".m4a"
    with av.open(str(result)) as container:
        assert not container.streams.video
        assert container.streams.audio[0].codec_context.name == "aac"
    assert packets(result, "audio") == packets(source, "audio")


@pytest.mark.parametrize(("form", "codec"), [("opus", "opus"), ("mp3", "mp3")])
def test_audio_extract_encodes_other_formats(make: Make, edit: Edit, form: str, codec: str) -> None:
    (result,) = edit(make(), [("trim", "1,2"), ("audio", "extract"), ("audio_format", form)])
    with av.open(str(result)) as container:
        assert not container.streams.video
        assert container.streams.audio[0].codec_context.codec.canonical_name == codec
        assert (container.duration or 0) / av.time_base == pytest.approx(1.0, abs=0.1)


def test_audio_extract_of_a_silent_video_fails(make: Make, edit: Edit) -> None:
    with pytest.raises(EditFailed, match="no sound to extract"):
        edit(make(acodec=None), [("audio", "extract")])


def test_hevc_in_mp4_is_tagged_hvc1_whether_encoded_or_copied(make: Make, edit: Edit) -> None:
    (encoded,) = edit(make(), [("format", "mp4"), ("vcodec", "hevc")])
    assert tag(encoded) == "hvc1"
    (copied,) = edit(encoded, [("trim", "0,2"), ("accurate", "false")])
    assert tag(copied) == "hvc1"
    assert facts(copied).codecs["video"] == "hevc"


def test_crf_sets_the_quality_and_forces_a_re_encode(make: Make, edit: Edit) -> None:
    source = make()
    (fine,) = edit(source, [("crf", "5"), ("preset", "ultrafast")])
    (coarse,) = edit(source, [("crf", "45")])
    assert packets(fine) != packets(source)
    assert coarse.stat().st_size * 2 < fine.stat().st_size


@pytest.mark.parametrize("form", ["mp4", "webm"])
def test_a_lower_bitrate_makes_a_smaller_video(make: Make, edit: Edit, form: str) -> None:
    (low,) = edit(make(), [("format", form), ("bitrate", "60k")])
    (high,) = edit(make(), [("format", form), ("bitrate", "2M")])
    assert sum(map(len, packets(low))) * 3 < sum(map(len, packets(high)))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("crf", "60")], "beyond h264's scale; accepted: 0 to 51"),
        ([("format", "webm"), ("preset", "slow")], "accepted: no preset: vp9 takes none"),
        ([("format", "mp4"), ("vcodec", "av1"), ("preset", "slow")], "accepted: 0 | 1"),
        ([("crf", "20"), ("bitrate", "1M")], "crf and bitrate cannot both be given"),
    ],
)
def test_quality_is_checked_against_the_encoder(
    make: Make, edit: Edit, query: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(EditFailed, match=message):
        edit(make(), query)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([("crf", "64")], "an integer from 0 to 63"),
        ([("bitrate", "fast")], "not a bit rate"),
        ([("preset", "placebo")], "for h264 and hevc: ultrafast \\| .* \\| veryslow; for av1: 0"),
        ([("speed", "5")], "from 0.25 to 4"),
        ([("volume", "+20dB")], "-60dB to \\+12dB"),
        ([("rotate", "45")], "90 \\| 180 \\| 270"),
        ([("text", "hi"), ("text_from", "3"), ("text_to", "2")], "must come after text_from"),
        ([("audio", "extract"), ("audio_format", "wav")], "m4a \\| opus \\| mp3"),
        ([("audio", "extract"), ("resize", "80x")], "must be the last operation"),
    ],
)
def test_refusals_name_the_parameter_and_what_is_accepted(
    query: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_query(catalogue(), MediaKind.VIDEO, query, limits=LIMITS)


def test_a_copied_cut_into_matroska_keeps_the_sound_at_its_start(make: Make, edit: Edit) -> None:
    """trim=0.995,2 into MKV starts 5 ms before the source's burst at 1 s: its copied AAC packet
    straddling START is kept, and the burst heard 5 ms in. Leaving that packet out (so that
    FFmpeg would not move the whole file 16 ms later) left the next one without the packet a
    decoder needs before it: silence where the burst was, up to 43 ms of sound lost."""
    (trimmed,) = edit(make(seconds=3.0), [("trim", "0.995,2"), ("format", "mkv")])
    assert bursts(trimmed)[0] == pytest.approx(0.005, abs=AUDIO_FRAME_SECONDS)
