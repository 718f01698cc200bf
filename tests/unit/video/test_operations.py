"""The video operations as /edit reads them: values, modifiers, refusals that name the
parameter and what is accepted, limits, and the JSON form."""

from uuid import uuid4

import pytest

from runner.engine.ops.base import Limits, MediaKind
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json, parse_query
from runner.engine.video.concat import Concat
from runner.engine.video.convert import Format
from runner.engine.video.frames import Frames
from runner.engine.video.operations import VIDEO_OPERATIONS
from runner.engine.video.resize import Resize
from runner.engine.video.thumbnail import Thumbnail
from runner.engine.video.trim import Trim
from service.kernel.errors import InvalidParameter

LIMITS = Limits(max_pixels=10**7, max_output_side=1920, max_video_seconds=600, max_operations=8)
VIDEO = MediaKind.VIDEO


def parse(query: list[tuple[str, str]]) -> list[object]:
    return list(parse_query(catalogue(), VIDEO, query, limits=LIMITS))


def refused(query: list[tuple[str, str]]) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        parse(query)
    return caught.value


def test_every_operation_is_a_video_operation_in_the_catalogue() -> None:
    assert {op.name for op in VIDEO_OPERATIONS} == {
        "trim", "format", "resize", "concat", "thumbnail", "frames", "crf", "bitrate", "preset",
        "crop", "rotate", "flip", "text", "overlay", "speed", "fps", "mute", "volume", "audio",
    }  # fmt: skip
    assert set(catalogue().names(VIDEO)) >= {op.name for op in VIDEO_OPERATIONS}
    assert all(op.kind is VIDEO for op in VIDEO_OPERATIONS)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([("trim", "1.5,3")], Trim(start=1.5, end=3)),
        ([("trim", "00:01:02.500")], Trim(start=62.5)),
        ([("trim", "1,2"), ("accurate", "false")], Trim(start=1, end=2, accurate=False)),
        ([("format", "webm")], Format(container="webm")),
        (
            [("format", "mp4"), ("vcodec", "hevc"), ("acodec", "opus")],
            Format(container="mp4", vcodec="hevc", acodec="opus"),
        ),
        ([("resize", "640x")], Resize(width=640)),
        ([("resize", "x360")], Resize(height=360)),
        ([("thumbnail", "2.5")], Thumbnail(at=2.5)),
        ([("frames", "best:5")], Frames(count=5)),
    ],
)
def test_values_are_read(query: list[tuple[str, str]], expected: object) -> None:
    assert parse(query) == [expected]


def test_concat_reads_ids_and_names_them_as_references() -> None:
    ids = (uuid4(), uuid4())
    (operation,) = parse([("concat", f"{ids[0]}, {ids[1]}")])
    assert isinstance(operation, Concat)
    assert operation.media_references() == ids


@pytest.mark.parametrize(
    ("query", "parameter", "words"),
    [
        ([("trim", "3,1")], "trim", "END must come after START"),
        ([("trim", "abc")], "trim", "the start 'abc' is not a time; accepted: start: seconds"),
        ([("trim", "1"), ("accurate", "maybe")], "accurate", "true | false"),
        ([("format", "avi")], "format", "mp4 | webm | mkv | mov | gif"),
        ([("format", "webm"), ("vcodec", "h264")], "vcodec", "format=webm cannot hold h264"),
        ([("format", "webm"), ("acodec", "aac")], "acodec", "accepted: opus"),
        ([("format", "mov"), ("vcodec", "vp9")], "vcodec", "accepted: h264 | hevc"),
        ([("format", "gif"), ("acodec", "aac")], "acodec", "no acodec with format=gif"),
        ([("resize", "641x")], "resize", "a side is odd"),
        ([("resize", "4000x")], "resize", "each 2 to 1920"),
        ([("concat", "not-an-id")], "concat", "is not a media id"),
        ([("frames", "worst:3")], "frames", "best:N"),
        ([("frames", "best:51")], "frames", "from 1 to 50"),
        ([("thumbnail", "-1")], "thumbnail", "not a time"),
        ([("bitrate", "fast")], "bitrate", "not a bit rate"),
        ([("bitrate", "10k")], "bitrate", "out of range"),
        ([("bitrate", "9" * 310 + "k")], "bitrate", "out of range"),  # a float's infinity
        ([("trim", "1"), ("vcodec", "h265")], "vcodec", "not one of the choices"),
    ],
)
def test_refusals_name_the_parameter_and_what_is_accepted(
    query: list[tuple[str, str]], parameter: str, words: str
) -> None:
    error = refused(query)
    assert error.parameter == parameter
    assert words in str(error)


def test_only_image_operations_may_follow_stills() -> None:
    error = refused([("thumbnail", "1"), ("trim", "2")])
    assert "comes after thumbnail, whose results are images" in str(error)
    assert "concat" not in error.accepted and "crop" in error.accepted
    assert "not a size" in str(refused([("frames", "best:2"), ("resize", "x")]))


def test_format_is_given_once() -> None:
    error = refused([("format", "mkv"), ("trim", "1,2"), ("format", "webm")])
    assert (error.parameter, error.accepted) == ("format", "one format per edit")


def test_image_only_parameters_are_refused_for_video() -> None:
    error = refused([("quality", "80")])
    assert error.parameter == "quality"


def test_json_round_trips() -> None:
    query = [("trim", "1,2"), ("accurate", "false"), ("format", "mkv"), ("vcodec", "av1")]
    operations = parse(query)
    document = [operation.as_json() for operation in operations]  # type: ignore[attr-defined]
    assert document[0] == {"op": "trim", "start": 1.0, "end": 2.0, "accurate": False}
    assert parse_json(catalogue(), VIDEO, document, limits=LIMITS) == operations


def test_json_refuses_what_the_query_refuses() -> None:
    for document in (
        [{"op": "format", "container": "webm", "vcodec": "h264"}],
        [{"op": "trim", "start": 5, "end": 1}],
        [{"op": "resize", "width": 641}],
        [{"op": "frames", "count": 0}],
    ):
        with pytest.raises(InvalidParameter):
            parse_json(catalogue(), VIDEO, document, limits=LIMITS)


def test_a_refused_preset_says_which_presets_are_whose() -> None:
    """Which encoder runs is known once the plan is made; the refusal says whose each is."""
    error = refused([("format", "mp4"), ("preset", "placebo")])
    assert error.accepted == (
        "for h264 and hevc: ultrafast | superfast | veryfast | faster | fast | medium | slow | "
        "slower | veryslow; for av1: 0 (slowest) to 13; vp9 takes none"
    )


def test_a_refused_trim_shows_the_whole_value() -> None:
    error = refused([("trim", "00:00:12.5,00:01:70")])
    assert error.value == "00:00:12.5,00:01:70"
    assert "the end '00:01:70': minutes and seconds run 0-59" in str(error)
