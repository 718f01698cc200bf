"""format: a remux when the container takes the codecs, re-encoding with the container's
defaults when it does not, MP4 and MOV with their index first, GIF with a palette."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from av.container.input import InputContainer
from PIL import Image, ImageSequence

from runner.engine.video import reader
from runner.engine.video.codecs import AUDIO_ENCODER, ENCODED_RATES_HZ, AudioCodec
from service.kernel.errors import EditFailed
from tests.unit.video.conftest import Edit, Make, counted_calls
from tests.unit.video.media import (
    assert_in_sync,
    facts,
    gif_delays_ms,
    moov_before_mdat,
    numbers,
    packets,
    read_number,
)


def test_mkv_to_mp4_is_a_remux_with_the_index_first(make: Make, edit: Edit) -> None:
    source = make(container="mkv", bframes=2)
    (result,) = edit(source, [("format", "mp4")])
    assert result.suffix == ".mp4"
    assert moov_before_mdat(result)
    assert packets(result) == packets(source)
    assert packets(result, "audio") == packets(source, "audio")
    assert facts(result).codecs == {"video": "h264", "audio": "aac"}
    assert numbers(result) == list(range(72))
    assert_in_sync(result)


def test_mp4_to_mov_keeps_packets(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("format", "mov")])
    assert "mov" in facts(result).format
    assert moov_before_mdat(result)
    assert packets(result) == packets(source)
    assert_in_sync(result)


def test_webm_gets_vp9_and_opus_when_the_source_has_neither(make: Make, edit: Edit) -> None:
    (result,) = edit(make(), [("format", "webm")])
    result_facts = facts(result)
    assert result_facts.codecs == {"video": "vp9", "audio": "opus"}
    assert result_facts.size == (160, 96)
    assert abs(result_facts.duration - 3.0) < 0.1
    assert numbers(result) == list(range(72))
    assert_in_sync(result)


def test_webm_to_mp4_keeps_vp9_and_opus(make: Make, edit: Edit) -> None:
    source = make(container="webm", vcodec="libvpx-vp9", acodec="libopus")
    (result,) = edit(source, [("format", "mp4")])
    assert facts(result).codecs == {"video": "vp9", "audio": "opus"}
    assert packets(result) == packets(source)
    assert_in_sync(result)


@pytest.mark.parametrize(
    ("container", "vcodec", "acodec"),
    [("mp4", "hevc", "aac"), ("mkv", "av1", "opus"), ("mp4", "h264", "opus"),
     ("webm", "av1", "opus"), ("mov", "hevc", "aac"), ("mkv", "vp9", "aac")],
)  # fmt: skip
def test_asked_codecs_are_encoded(
    make: Make, edit: Edit, container: str, vcodec: str, acodec: str
) -> None:
    query = [("format", container), ("vcodec", vcodec), ("acodec", acodec)]
    (result,) = edit(make(seconds=2.0), query)  # sound bursts at 0 and 1 s
    assert facts(result).codecs == {"video": vcodec, "audio": acodec}
    assert numbers(result) == list(range(48))
    if container in ("mp4", "mov"):
        assert moov_before_mdat(result)
    assert_in_sync(result)


def test_asking_for_the_source_codec_copies(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("format", "mkv"), ("vcodec", "h264")])
    assert packets(result) == packets(source)
    assert_in_sync(result)


def test_gif_has_a_palette_and_no_sound(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("format", "gif")])
    result_facts = facts(result)
    assert result_facts.codecs == {"video": "gif"}
    assert result_facts.size == (160, 96)
    got = numbers(result)
    assert got[0] == 0
    assert got == sorted(got)
    assert 40 <= len(got) <= 46  # 15 frames per second of the 3 s
    # The palette is made from the video, so the texture's greens and purples get most of
    # its entries. Without the palette step the encoder would be left with a fixed palette
    # (FFmpeg's rgb8, 3-3-2 bits): 30 colours in the first frame, every frame 13 levels off.
    originals = pictures(source)
    with Image.open(result) as gif:
        assert gif.mode == "P"
        assert len(gif.getcolors(maxcolors=256) or []) > 150
        errors = [
            np.abs(np.asarray(frame.convert("RGB"), dtype=np.int16) - originals[number]).mean()
            for frame, number in zip(ImageSequence.Iterator(gif), got, strict=True)
        ]
    assert max(errors) < 4  # levels of 255, per channel: dithering and h264 between


@pytest.mark.parametrize(
    ("rate", "query"),
    [
        (12, [("trim", "1,2.5")]),
        (12, [("trim", "1.03,2.5")]),
        (24, [("trim", "1,2.5")]),
        (24, [("trim", "1.03,2.5")]),
        (24, [("trim", "1,2.5"), ("fps", "5")]),
        (10, [("trim", "0,0.404")]),
    ],
)
def test_a_gif_of_a_trim_lasts_the_trim(
    make: Make, edit: Edit, rate: int, query: list[tuple[str, str]]
) -> None:
    """A GIF lasts the sum of its frames' delays, in hundredths of a second. Its frames were
    timed in the slots of its grid, the last shown its whole slot past END: 1.54 s for 1.5
    (24 fps put on 15), 1.6 s at fps=5 (7.5 slots shown as 8), 1.5 s for 1.47 (12 fps). Kept
    at their times (a source within 15 fps), the first is shown from the start all the same
    (1.42 s without: the 50 ms before it lost, GIF having no time before its first frame).
    A last frame within a hundredth before END (that of 0.4 s in trim=0,0.404) is timed at END:
    it had no length, and FFmpeg's muxer gave it the rate's (0.5 s for 0.404)."""
    (result,) = edit(make(seconds=3.0, rate=rate, acodec=None), [*query, ("format", "gif")])
    start, end = (float(part) for part in dict(query)["trim"].split(","))
    assert sum(gif_delays_ms(result)) == pytest.approx((end - start) * 1000, abs=10)
    got = numbers(result)
    assert got == sorted(got)
    assert start * rate - 1 <= got[0] and got[-1] < end * rate


def test_a_gif_palette_reads_its_samples_in_one_pass_over_few_keyframes(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """240 frames, one keyframe: each of the palette's 24 samples was sought on its own and
    decoded from the first frame again (24 seeks, about 2,900 frames). Its samples are now
    read on from the one before when no keyframe lies between: one seek, the video once."""
    frames = 240
    source = make(
        seconds=10.0, rate=24, size=(64, 32), gop=100_000, acodec=None,
        options=(("sc_threshold", "0"),),
    )  # fmt: skip
    seeks = counted_calls(monkeypatch, reader, "seek_before")
    decoded = counted_calls(monkeypatch, reader, "check_frame")  # one per frame decoded
    edit(source, [("format", "gif")])
    assert len(seeks) <= 2  # the keyframes' pass over the packets, then the samples
    assert frames * 0.9 <= len(decoded) <= frames + 24


def test_a_gif_palette_knows_the_keyframes_of_a_video_longer_than_the_scans_bound(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass over the packets that finds the keyframes stopped after MAX_FRAMES_SCANNED
    packets (100,000 frames; lowered here to 100 of 240): every sample past them was sought,
    a GOP decoded for each. It is bounded by keyframes now, as the keyframe scan of
    frames=best is, and sees the video to its end: a seek per keyframe at most."""
    keyframes = 10
    source = make(
        seconds=10.0, rate=24, size=(64, 32), gop=24, acodec=None,
        options=(("sc_threshold", "0"),),
    )  # fmt: skip
    monkeypatch.setattr(reader, "MAX_FRAMES_SCANNED", 100)  # each run reads 24 frames or fewer
    seeks = counted_calls(monkeypatch, reader, "seek_before")
    edit(source, [("format", "gif")])
    assert len(seeks) <= 1 + keyframes  # the keyframes' pass, then one a keyframe


def test_a_gif_palette_of_a_short_trim_reads_the_packets_to_the_trims_end_not_the_files(
    make: Make, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pass over the packets that finds the keyframes stopped only at a keyframe at or past
    the segment's end: of a video with one keyframe, a GIF of its first half second demuxed
    every packet to the end of the file. It stops at the first packet past the segment now."""
    source = make(
        seconds=10.0, rate=24, size=(64, 32), gop=100_000, acodec=None,
        options=(("sc_threshold", "0"),),
    )  # fmt: skip
    demuxed: list[None] = []
    demux = InputContainer.demux

    def counted(container: InputContainer, *streams: Any) -> Iterator[Any]:
        for packet in demux(container, *streams):
            demuxed.append(None)
            yield packet

    monkeypatch.setattr(InputContainer, "demux", counted)
    edit(source, [("trim", "0,0.5"), ("format", "gif")])
    # Of 240 packets, 12 in the half second: the edit demuxed 271 before (some twice), 43 now.
    assert 12 <= len(demuxed) < len(packets(source)) / 4


def test_a_gif_palette_read_on_is_the_palette_a_seek_for_each_sample_gives(
    read_on_source: Path, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same GIF, palette and all, whether the samples are read on or each sought."""
    query = [("trim", "0.5,3.5"), ("format", "gif")]
    seeks = counted_calls(monkeypatch, reader, "seek_before")
    (read_on,) = edit(read_on_source, query)
    seeks_reading_on = len(seeks)
    monkeypatch.setattr(reader._Keyframes, "none_between", lambda *args: False)
    (sought,) = edit(read_on_source, query)
    assert seeks_reading_on < len(seeks) - seeks_reading_on  # two ways indeed
    assert sought.read_bytes() == read_on.read_bytes()


def pictures(path: Path) -> dict[int, npt.NDArray[np.int16]]:
    """Each frame of a video as RGB, by the number it shows."""
    with av.open(str(path)) as container:
        return {
            read_number(frame): frame.to_ndarray(format="rgb24").astype(np.int16)
            for frame in container.decode(video=0)
        }


def test_a_faststart_mp4_cut_short_fails_as_truncated(
    make: Make, edit: Edit, tmp_path: Path
) -> None:
    (whole,) = edit(make(), [("format", "mp4")])
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(EditFailed, match="truncated"):
        edit(cut, [("resize", "80x")])


def test_a_codec_without_a_format_keeps_the_sources_container(make: Make, edit: Edit) -> None:
    source = make(container="mkv")
    (result,) = edit(source, [("vcodec", "vp9")])
    assert result.suffix == ".mkv"
    assert "matroska" in facts(result).format
    assert facts(result).codecs == {"video": "vp9", "audio": "aac"}  # the sound copied
    assert packets(result, "audio") == packets(source, "audio")
    (remux,) = edit(source, [("trim", "1"), ("acodec", "opus")])
    assert (remux.suffix, facts(remux).codecs) == (".mkv", {"video": "h264", "audio": "opus"})


def test_a_codec_the_sources_container_cannot_hold_says_which_format_can(
    make: Make, edit: Edit
) -> None:
    holders = r"format=mp4\|webm\|mkv"
    with pytest.raises(EditFailed, match=rf"keeps the source.s container, mov.*{holders}"):
        edit(make(container="mov"), [("vcodec", "vp9")])


@pytest.mark.parametrize(("sample_rate", "encoded"), [(192_000, 96_000), (4_000, 7_350)])
def test_sound_at_a_rate_aac_cannot_take_is_encoded_at_the_nearest_it_takes(
    make: Make, edit: Edit, sample_rate: int, encoded: int
) -> None:
    """As FFmpeg chooses; the edit failed ("cannot be encoded as aac at 192000 Hz")."""
    source = make(container="mkv", acodec="pcm_s16le", sample_rate=sample_rate, seconds=2.0)
    (result,) = edit(source, [("format", "mp4")])
    with av.open(str(result)) as container:
        audio = container.streams.audio[0].codec_context
        assert (audio.codec.canonical_name, audio.sample_rate) == ("aac", encoded)
    assert_in_sync(result)


@pytest.mark.parametrize("codec", ["aac", "mp3"])
def test_the_rates_an_encoder_takes_are_ffmpegs(codec: AudioCodec) -> None:
    rates = av.Codec(AUDIO_ENCODER[codec], "w").audio_rates
    assert rates is not None
    assert set(ENCODED_RATES_HZ[codec]) == set(rates)
