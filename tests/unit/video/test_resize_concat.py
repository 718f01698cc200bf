"""resize and concat: sizes, aspect, conforming what is appended to what comes first."""

from pathlib import Path
from uuid import uuid4

import av
import pytest
from PIL import Image

from runner.engine.ops.base import Limits
from service.kernel.errors import EditFailed, InvalidParameter
from tests.media import striped_video
from tests.unit.video.conftest import LIMITS, Edit, Make
from tests.unit.video.media import Spec, assert_in_sync, bursts, facts, numbers, packets


@pytest.mark.parametrize(
    ("size", "expected"), [("80x", (80, 48)), ("x48", (80, 48)), ("100x100", (100, 100))]
)
def test_resize_keeps_the_aspect_unless_both_sides_are_given(
    make: Make, edit: Edit, size: str, expected: tuple[int, int]
) -> None:
    (result,) = edit(make(), [("resize", size)])
    result_facts = facts(result)
    assert result_facts.size == expected
    assert result_facts.codecs == {"video": "h264", "audio": "aac"}
    assert numbers(result) == list(range(72))
    assert_in_sync(result)


def test_resize_to_the_same_size_copies(make: Make, edit: Edit) -> None:
    source = make()
    (result,) = edit(source, [("resize", "160x96")])
    assert packets(result) == packets(source)


def test_a_computed_side_beyond_the_limit_fails(make: Make, edit: Edit) -> None:
    tight = Limits(max_pixels=10**7, max_output_side=300, max_video_seconds=60, max_operations=5)
    with pytest.raises(EditFailed, match=r"would be 600x300 pixels, and no side may be over 300 "):
        edit(make(size=(200, 100)), [("resize", "x300")], limits=tight)


def test_frames_over_the_pixel_limit_are_refused_before_any_work(make: Make, edit: Edit) -> None:
    """Sides within max_output_side may still make frames over max_pixels (a decompression
    bomb of our own making): refused as written when both sides are given, else once the
    source's shape gives the other side."""
    tight = Limits(max_pixels=30_000, max_output_side=1000, max_video_seconds=60, max_operations=5)
    source = make(size=(200, 100))
    with pytest.raises(
        InvalidParameter,
        match=r"'200x200': frames of 200x200 are 40,000 pixels, over the limit of 30,000 ",
    ):
        edit(source, [("resize", "200x200")], limits=tight)
    with pytest.raises(
        EditFailed, match=r"frames of 400x200 are 80,000 pixels, over the limit of 30,000 "
    ):
        edit(source, [("resize", "400x")], limits=tight)


def test_frames_past_every_codec_level_are_refused_before_any_work(make: Make, edit: Edit) -> None:
    """Within the default EDITROOM_MAX_PIXELS (50 MP) a video's frames may still be more than
    any codec level allows (35,651,584 pixels, 8192x4352): x264 asked for 10000x5000 went on
    and ran out of the edit's memory at its first frame, seconds of CPU in. Refused as
    written when both sides are given and no source is that large, else by the plan once the
    source's shape gives the other side or says it is not the source's own (a copy)."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    with pytest.raises(
        InvalidParameter,
        match=r"'10000x5002': frames of 10000x5002 are 50,020,000 pixels, over the limit of "
        r"35,651,584, the largest frame the highest level of H.264, HEVC, VP9 or AV1 allows",
    ):
        edit(make(), [("resize", "10000x5002")], limits=roomy)
    with pytest.raises(EditFailed, match=r"frames of 10000x5000 are 50,000,000 pixels, over "):
        edit(make(), [("resize", "10000x5000")], limits=roomy)
    with pytest.raises(EditFailed, match=r"frames of 8000x4800 are 38,400,000 pixels, over "):
        edit(make(size=(160, 96)), [("resize", "8000x")], limits=roomy)


@pytest.fixture(scope="module")
def wide_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8200x4400: within EDITROOM_MAX_PIXELS (50 MP), past every codec level (8192x4352)."""
    return striped_video(tmp_path_factory.mktemp("wide") / "wide.mp4", (8200, 4400))


def test_a_source_past_every_codec_level_is_copied_but_not_re_encoded(
    edit: Edit, wide_source: Path
) -> None:
    """An upload may be larger than any level (up to EDITROOM_MAX_PIXELS): its packets are
    copied as they are, but re-encoding it at its own size is refused before any work."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    (copied,) = edit(wide_source, [("format", "mkv")], limits=roomy)
    assert packets(copied) == packets(wide_source)
    with pytest.raises(
        EditFailed, match=r"^the result's frames of 8200x4400 are 36,080,000 pixels, over the "
        r"limit of 35,651,584, .*; resize it smaller$",
    ):  # fmt: skip
        edit(wide_source, [("format", "webm")], limits=roomy)


def test_a_resize_to_the_size_of_a_source_past_every_codec_level_copies_it(
    edit: Edit, wide_source: Path
) -> None:
    """The plan copies frames of the source's own size, which no codec level holds: the
    edit's parser refused the resize as frames past the codecs' largest (422 at POST)."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    (copied,) = edit(wide_source, [("resize", "8200x4400")], limits=roomy)
    assert packets(copied) == packets(wide_source)
    with pytest.raises(EditFailed, match=r"^the result's frames of 8200x4400 are 36,080,000 "):
        edit(wide_source, [("resize", "8200x4400"), ("format", "webm")], limits=roomy)


@pytest.mark.parametrize("trim", ["0.5", "0,0.5"])
def test_an_accurate_trim_of_a_source_past_every_codec_level_is_refused_before_any_work(
    edit: Edit, wide_source: Path, trim: str
) -> None:
    """Its packets are copied, but a cut on the exact frame re-encodes the frames from START
    to the next keyframe (and those before END a copy cannot show) at the source's size: the
    plan skipped the codecs' largest frame for a copy, and the smart cut's encoder was handed
    36 MP frames. A cut on keyframes copies every packet: that is made."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    with pytest.raises(
        EditFailed, match=r"^trim: a frame-accurate cut re-encodes the frames around it at the "
        r"source's size, and its frames of 8200x4400 are 36,080,000 pixels, over the limit of "
        r"35,651,584, .*; add accurate=false to cut on keyframes, copying every packet, or "
        r"resize it smaller$",
    ):  # fmt: skip
        edit(wide_source, [("trim", trim)], limits=roomy)
    (copied,) = edit(wide_source, [("trim", trim), ("accurate", "false")], limits=roomy)
    assert packets(copied) == packets(wide_source)


@pytest.mark.parametrize("query", [("thumbnail", "0"), ("frames", "best:1")])
def test_stills_of_a_source_past_every_codec_level_are_made(
    edit: Edit, wide_source: Path, query: tuple[str, str]
) -> None:
    """Stills are written by Pillow, not by a video codec: the codecs' largest frame does not
    hold them, EDITROOM_MAX_PIXELS does. They were refused as a re-encode at that size."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    (still,) = edit(wide_source, [query], limits=roomy)
    with Image.open(still) as image:
        assert image.size == (8200, 4400)


def test_a_still_resized_past_every_codec_level_is_made(make: Make, edit: Edit) -> None:
    """`resize=WxH` before a thumbnail makes a still, held to EDITROOM_MAX_PIXELS as the plan
    holds it: the edit's parser refused it as frames past the codecs' largest (422 at POST)."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    (still,) = edit(make(size=(160, 96)), [("resize", "8200x4400"), ("thumbnail", "0")],
                    limits=roomy)  # fmt: skip
    with Image.open(still) as image:
        assert image.size == (8200, 4400)


def test_a_still_past_the_pixel_limit_is_refused_before_any_work(make: Make, edit: Edit) -> None:
    """No codec's level holds a still, EDITROOM_MAX_PIXELS does, as the edit is planned: a
    one-sided resize before a thumbnail planned a still of any size, made by Pillow (a
    10000x10000 one is hundreds of MB and seconds of CPU) and refused only once written."""
    tight = Limits(max_pixels=100_000, max_output_side=10_000, max_video_seconds=60,
                   max_operations=5)  # fmt: skip
    with pytest.raises(
        EditFailed, match=r"^a still of 1000x600 would have 600,000 pixels, more than the "
        r"100,000 a still may have \(EDITROOM_MAX_PIXELS\); resize it smaller$",
    ):  # fmt: skip
        edit(make(size=(160, 96)), [("resize", "1000x"), ("thumbnail", "0")], limits=tight)


def test_concat_of_alike_videos_copies_and_keeps_every_part_in_sync(make: Make, edit: Edit) -> None:
    source = make()
    others = [uuid4() for _ in range(3)]
    (result,) = edit(
        source, [("concat", ",".join(map(str, others)))], others=dict.fromkeys(others, source)
    )
    assert packets(result) == packets(source) * 4
    assert numbers(result) == [*range(72)] * 4
    assert abs(facts(result).duration - 12.0) < 0.1
    heard = {round(t) for t in bursts(result)}
    assert heard >= {second for second in range(12) if second % 3}  # a join may lose 1 frame
    assert_in_sync(result, specs=[Spec()] * 4)  # no part's sound later than the first's


def test_concat_conforms_size_rate_sample_rate_and_fills_silence(make: Make, edit: Edit) -> None:
    specs = [
        Spec(seconds=2.0),
        Spec(seconds=2.0, size=(80, 48), rate=12, sample_rate=44_100),
        Spec(seconds=1.0, acodec=None, container="webm", vcodec="libvpx-vp9"),
    ]
    first, smaller, silent = (make(**vars(spec)) for spec in specs)
    ids = [uuid4(), uuid4()]
    (result,) = edit(
        first,
        [("concat", ",".join(map(str, ids)))],
        others=dict(zip(ids, [smaller, silent], strict=True)),
    )
    result_facts = facts(result)
    assert result_facts.size == (160, 96)
    assert result_facts.codecs == {"video": "h264", "audio": "aac"}
    assert abs(result_facts.duration - 5.0) < 0.1
    got = numbers(result)
    assert len(got) == 5 * 24  # the 12 fps part repeats each frame to 24 fps
    assert got[:48] == list(range(48))
    assert got[48:96] == [n // 2 for n in range(48)]
    assert got[96:] == list(range(24))
    heard = bursts(result)  # at 0 and 1 s of each part that has sound, then silence
    assert [round(t, 2) for t in heard] == [0.0, 1.0, 2.0, 3.0]
    assert_in_sync(result, specs=specs)


def test_concat_of_a_missing_video_fails(make: Make, edit: Edit) -> None:
    with pytest.raises(EditFailed, match="was not provided"):
        edit(make(), [("concat", str(uuid4()))])


def test_the_result_may_not_be_too_long(make: Make, edit: Edit) -> None:
    source = make()
    ids = [uuid4() for _ in range(3)]
    short = Limits(max_pixels=10**7, max_output_side=900, max_video_seconds=10, max_operations=5)
    with pytest.raises(EditFailed, match="at most 10 s"):
        edit(
            source,
            [("concat", ",".join(map(str, ids)))],
            others=dict.fromkeys(ids, source),
            limits=short,
        )
    assert LIMITS.max_video_seconds > 12


def test_concat_letterboxes_a_differently_shaped_video(make: Make, edit: Edit) -> None:
    square = make(seconds=1.0, size=(96, 96))
    other = uuid4()
    (result,) = edit(make(seconds=1.0), [("concat", str(other))], others={other: square})
    with av.open(str(result)) as container:
        last = list(container.decode(video=0))[-1].to_ndarray(format="gray")
    assert last.shape == (96, 160)
    assert last[:, :30].max() < 24  # black bars left and right of the square picture
    assert last[:, -30:].max() < 24
    assert last[:, 40:120].std() > 20


def test_concat_after_a_silent_first_video_gives_it_silence(make: Make, edit: Edit) -> None:
    specs = [Spec(seconds=1.0, acodec=None), Spec(seconds=2.0)]
    silent, sounding = (make(**vars(spec)) for spec in specs)
    other = uuid4()
    (result,) = edit(silent, [("concat", str(other))], others={other: sounding})
    result_facts = facts(result)
    assert result_facts.codecs == {"video": "h264", "audio": "aac"}
    assert abs(result_facts.duration - 3.0) < 0.1
    assert [round(t, 2) for t in bursts(result)] == [1.0, 2.0]
    assert numbers(result) == [*range(24), *range(48)]
    assert_in_sync(result, specs=specs)
