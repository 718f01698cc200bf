"""A crop or a resize refused for the same reason is refused in the same words for an image
and a video, naming what was wrong: the side over the limit, the edge a crop passes. They
were worded four ways ("the crop is larger than any result may be" and "larger than
allowed"; "x + w" and "x+w", "image" and "picture") by two near-copies of the checks."""

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from runner.engine.image.crop import Crop as ImageCrop
from runner.engine.ops.base import Limits, MediaKind, Operation, SourceFacts
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import check_source, parse_json, parse_query
from runner.engine.video.geometry import Crop as VideoCrop
from service.kernel.errors import EditFailed, InvalidParameter

LIMITS = Limits(max_pixels=10**9, max_output_side=4000, max_video_seconds=600, max_operations=8)
ROOMY = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=600,
               max_operations=8)  # fmt: skip
PICTURE = SourceFacts(width=64, height=48, duration_seconds=5.0)
ANY_LENGTH = "a width and a height of at most 4000 pixels"


def refusal(kind: MediaKind, read: Callable[[MediaKind], list[Operation]]) -> str:
    with pytest.raises(InvalidParameter) as refused:
        read(kind)
    return str(refused.value)


def from_json(document: list[dict[str, Any]]) -> Callable[[MediaKind], list[Operation]]:
    """Operations as a workflow's JSON gives them: the configured limits are checked on the
    operations read (a query's values are bounded as they are read: the grammar's own words)."""
    return lambda kind: parse_json(catalogue(), kind, document, limits=LIMITS)


def on_picture(query: str) -> Callable[[MediaKind], list[Operation]]:
    """Operations from a query, judged against a 64x48 source before anything is queued."""

    def read(kind: MediaKind) -> list[Operation]:
        operations = parse_query(catalogue(), kind, parse_qsl(query), limits=LIMITS)
        check_source(operations, PICTURE, limits=LIMITS)
        return operations

    return read


@pytest.mark.parametrize(
    ("read", "said"),
    [
        (
            from_json([{"op": "crop", "x": 0, "y": 0, "width": 4200, "height": 10}]),
            "crop='0,0,4200,10': a width of 4200 pixels is over the limit of 4000 "
            f"(EDITROOM_MAX_OUTPUT_SIDE); accepted: {ANY_LENGTH}",
        ),
        (
            from_json([{"op": "resize", "width": 100, "height": 4400}]),
            "resize='100x4400': a height of 4400 pixels is over the limit of 4000 "
            f"(EDITROOM_MAX_OUTPUT_SIDE); accepted: {ANY_LENGTH}",
        ),
        (
            on_picture("crop=60,0,10,10"),
            "crop='60,0,10,10': reaches past the right edge (x + w = 70) of the 64x48 picture; "
            "accepted: a rectangle inside it: x + w <= 64 and y + h <= 48",
        ),
        (
            on_picture("crop=60,40,10,10"),
            "crop='60,40,10,10': reaches past the right edge (x + w = 70) and the bottom edge "
            "(y + h = 50) of the 64x48 picture; "
            "accepted: a rectangle inside it: x + w <= 64 and y + h <= 48",
        ),
    ],
    ids=["crop-side", "resize-side", "crop-right", "crop-right-and-bottom"],
)
def test_the_same_bad_crop_or_resize_is_refused_alike_for_images_and_videos(
    read: Callable[[MediaKind], list[Operation]], said: str
) -> None:
    assert refusal(MediaKind.IMAGE, read) == said
    assert refusal(MediaKind.VIDEO, read) == said


def test_a_crop_found_outside_while_running_says_the_same() -> None:
    """A size only known while running (after a resize, a headshot) fails the edit in the
    words of the refusal before queueing."""
    with pytest.raises(EditFailed) as image_failure:
        ImageCrop(x=60, y=0, width=10, height=10).output_size((64, 48))
    with pytest.raises(EditFailed) as video_failure:
        VideoCrop(x=60, y=0, width=10, height=10).filters((64, 48))
    before = refusal(MediaKind.IMAGE, on_picture("crop=60,0,10,10"))
    assert str(image_failure.value) == str(video_failure.value) == before


def test_only_a_video_is_held_to_the_codecs_largest_frame() -> None:
    """10000x5000 is within EDITROOM_MAX_PIXELS (50 MP) and EDITROOM_MAX_OUTPUT_SIDE: an image
    may be that large, a video's frames may not (no codec level goes past 8192x4352)."""
    roomy = Limits(max_pixels=50_000_000, max_output_side=10_000, max_video_seconds=600,
                   max_operations=8)  # fmt: skip
    query = [("resize", "10000x5000"), ("upscale", "true")]
    assert parse_query(catalogue(), MediaKind.IMAGE, query, limits=roomy)
    video = parse_query(catalogue(), MediaKind.VIDEO, query[:1], limits=roomy)
    with pytest.raises(InvalidParameter) as refused:
        check_source(video, SourceFacts(width=8000, height=4000), limits=roomy)
    assert str(refused.value) == (
        "resize='10000x5000': frames of 10000x5000 are 50,000,000 pixels, over the limit of "
        "35,651,584, the largest frame the highest level of H.264, HEVC, VP9 or AV1 allows "
        "(8192x4352); accepted: a size of at most 35,651,584 pixels a frame"
    )


@pytest.mark.parametrize(
    "read",
    [
        lambda query: parse_query(catalogue(), MediaKind.VIDEO, parse_qsl(query), limits=ROOMY),
        lambda query: parse_json(catalogue(), MediaKind.VIDEO, _as_json(query), limits=ROOMY),
    ],
    ids=["query", "json"],
)
def test_a_resize_a_still_is_made_of_is_held_as_a_still(read: Callable[[str], Any]) -> None:
    """A video's resize before thumbnail or frames makes a still, which Pillow writes: the
    plan holds it to EDITROOM_MAX_PIXELS alone (oversized_still), and so does POST /edit now.
    It held the resize to the codecs' largest frame, refusing 10000x5000 (50 MP, within
    EDITROOM_MAX_PIXELS) as frames, and a still over EDITROOM_MAX_PIXELS in the frames' words."""
    assert read("resize=10000x5000&thumbnail=0")
    assert read("resize=10000x5000&frames=best:2")
    with pytest.raises(InvalidParameter) as refused:
        read("resize=10000x6000&thumbnail=0")
    assert str(refused.value) == (
        "resize='10000x6000': a still of 10000x6000 would have 60,000,000 pixels, more than "
        "the 50,000,000 a still may have (EDITROOM_MAX_PIXELS); accepted: a size of at most "
        "50,000,000 pixels a still"
    )
    encoded = read("resize=10000x5000&format=webm")  # frames: the codecs' largest holds them
    with pytest.raises(InvalidParameter, match=r"^resize='10000x5000': frames of 10000x5000 "):
        check_source(encoded, SourceFacts(width=8000, height=4000), limits=ROOMY)


@pytest.mark.parametrize("asked", ["resize=10000x5000", "format=mkv&resize=10000x5000"])
def test_a_videos_resize_to_its_own_size_past_every_codec_level_is_taken(asked: str) -> None:
    """At the source's own size the plan copies the packets (plan.py `_video_copies`): no
    codec level holds them. POST refused resize=10000x5000 of a 10000x5000 video as frames
    past the codecs' largest, every time. It is refused once the source's size is known to be
    another; not known (after format, which leaves it unknown; a workflow saved), the plan
    judges it, which refuses it when it re-encodes."""
    operations = parse_query(catalogue(), MediaKind.VIDEO, parse_qsl(asked), limits=ROOMY)
    check_source(operations, SourceFacts(width=10_000, height=5000), limits=ROOMY)
    check_source(operations, SourceFacts(), limits=ROOMY)
    over_any_source = parse_qsl(asked.replace("10000x5000", "10000x5002"))
    with pytest.raises(InvalidParameter, match=r"frames of 10000x5002 are 50,020,000 pixels"):
        parse_query(catalogue(), MediaKind.VIDEO, over_any_source, limits=ROOMY)


def _as_json(query: str) -> list[dict[str, Any]]:
    """Video operations without modifiers, as a workflow's JSON writes them (read one by one:
    the whole edit is what parse_json is to judge)."""
    items = parse_qsl(query)
    read = [(catalogue().operation(MediaKind.VIDEO, name), value) for name, value in items]
    return [operation.from_query(value, {}).as_json() for operation, value in read if operation]
