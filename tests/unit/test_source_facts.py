"""What an edit's source is known to be before it runs (its size, its duration) refuses an
operation that cannot apply to it, at enqueue; only while no operation before it changed
what it is judged by, so nothing is refused that would have run."""

from urllib.parse import parse_qsl
from uuid import uuid4

import pytest

from runner.engine.ops.base import Limits, MediaKind, Operation, SourceFacts
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import check_source, parse_query
from service.domain.source_facts import refuse_impossible_run, refuse_impossible_step
from service.kernel.errors import InvalidParameter

LIMITS = Limits(max_pixels=10**8, max_output_side=4000, max_video_seconds=600, max_operations=8)
CLIP = SourceFacts(width=64, height=48, duration_seconds=5.0)
PICTURE = SourceFacts(width=64, height=48)


def parse(kind: MediaKind, query: str) -> list[Operation]:
    items = parse_qsl(query, keep_blank_values=True)
    return parse_query(catalogue(), kind, items, limits=LIMITS)


def refusal(kind: MediaKind, query: str, facts: SourceFacts) -> InvalidParameter | None:
    try:
        check_source(parse(kind, query), facts, limits=LIMITS)
    except InvalidParameter as refused:
        return refused
    return None


def test_a_trim_starting_after_the_videos_end_is_refused_naming_its_duration() -> None:
    refused = refusal(MediaKind.VIDEO, "trim=00:00:12.5,00:00:20", CLIP)
    assert refused is not None
    assert str(refused) == (
        "trim='12.5,20': starts at 12.5 s, after the end of the 5 s video; "
        "accepted: a START before 5 s, the end of the video"
    )
    at_the_end = refusal(MediaKind.VIDEO, "trim=5", CLIP)
    assert at_the_end is not None and "starts at 5 s, at the end of" in str(at_the_end)


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("trim=4.9", False),
        ("format=mkv&crf=30&resize=32x&mute&trim=12.5", True),  # these keep the duration
        ("speed=2&trim=12.5", False),  # changes it: the runner judges
        (f"concat={uuid4()}&trim=12.5", False),
        ("trim=1,3&trim=2.5", False),  # a second trim reads the first one's result
    ],
)
def test_only_the_first_operation_to_change_the_duration_is_judged(
    query: str, refused: bool
) -> None:
    assert (refusal(MediaKind.VIDEO, query, CLIP) is not None) == refused


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("crop=60,0,10,10", True),
        ("crop=54,38,10,10", False),
        ("flip=h&color=sepia&rotate=180&crop=60,0,10,10", True),  # the size is the same
        ("resize=32x&crop=60,0,10,10", False),  # 32x24 is not what is known
        ("resize=200x&upscale=true&crop=60,0,10,10", False),
        ("rotate=90&crop=40,0,8,10", False),  # 48x64: judged when it runs
        ("crop=0,0,32,32&crop=40,0,10,10", False),  # the first crop made the size
        ("headshot&crop=60,0,10,10", False),  # only the pixels tell
    ],
)
def test_only_a_crop_before_any_change_of_size_is_judged(query: str, refused: bool) -> None:
    assert (refusal(MediaKind.IMAGE, query, PICTURE) is not None) == refused


def test_a_crop_outside_says_the_pictures_size() -> None:
    refused = refusal(MediaKind.IMAGE, "crop=60,0,10,10", PICTURE)
    assert refused is not None
    assert (refused.parameter, refused.value) == ("crop", "60,0,10,10")
    assert refused.problem == "reaches past the right edge (x + w = 70) of the 64x48 picture"
    assert refused.accepted == "a rectangle inside it: x + w <= 64 and y + h <= 48"


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        (
            "rotate=45",
            "rotate='45': the result would be 2830x2830 (8.01 MP) on this 2000x2000 image",
        ),
        ("pad=500", "pad='500': the result would be 3000x3000 (9 MP) on this 2000x2000 image"),
        ("resize=3000x2100&upscale=true&fit=fill", "resize='3000x2100': the result would be "),
        ("flip=h&rotate=45", "rotate='45': the result would be 2830x2830 (8.01 MP)"),
        ("rotate=10", None),  # 2317x2317, 5.4 MP: within the limit
        ("resize=1000x&rotate=45", None),  # the size is no longer what is known: the runner's
    ],
)
def test_a_result_too_large_for_the_pictures_size_is_refused_when_asked_for(
    query: str, refused: str | None
) -> None:
    """The runner refused such a result as the edit was planned, after the image was fetched
    and (a PNG) decoded: 0.6 s and 335 MiB for rotate=1 of a 7000x7000 PNG, a 422 on the edit
    where POST had answered 202."""
    small = Limits(max_pixels=6_000_000, max_output_side=4000, max_video_seconds=1,
                   max_operations=8)  # fmt: skip
    operations = parse(MediaKind.IMAGE, query)
    if refused is None:
        check_source(operations, SourceFacts(width=2000, height=2000), limits=small)
        return
    with pytest.raises(InvalidParameter) as caught:
        check_source(operations, SourceFacts(width=2000, height=2000), limits=small)
    assert str(caught.value).startswith(refused)
    assert "over the limit of 6 MP (EDITROOM_MAX_PIXELS)" in str(caught.value)


@pytest.mark.parametrize(
    ("query", "refused"),
    [
        ("crop=60,0,10,10", True),
        ("crop=54,38,10,10", False),
        ("flip=h&crop=60,0,10,10", True),  # the size is the same
        ("rotate=90&crop=44,0,8,10", True),  # 48x64, as the plan turns it
        ("rotate=90&crop=40,54,8,10", False),
        ("crop=0,0,32,32&crop=30,0,10,10", True),  # the first crop made 32x32
        ("trim=1,2&crop=60,0,10,10", False),  # not said to keep the size: the runner judges
        ("resize=32x&crop=60,0,10,10", False),
    ],
)
def test_a_video_crop_is_judged_by_the_picture_as_the_crops_and_turns_before_it_leave_it(
    query: str, refused: bool
) -> None:
    assert (refusal(MediaKind.VIDEO, query, CLIP) is not None) == refused


def test_a_video_crop_outside_says_the_pictures_size() -> None:
    refused = refusal(MediaKind.VIDEO, "crop=0,0,2000,10", SourceFacts(width=1920, height=1080))
    assert refused is not None
    assert str(refused) == (
        "crop='0,0,2000,10': reaches past the right edge (x + w = 2000) of the 1920x1080 "
        "picture; accepted: a rectangle inside it: x + w <= 1920 and y + h <= 1080"
    )


def test_a_session_step_is_judged_by_the_head_once_no_step_is_still_to_run() -> None:
    head = {"head_width": None, "head_height": None, "head_duration_seconds": 5.0}
    with pytest.raises(InvalidParameter) as refused:
        refuse_impossible_step(
            {**head, "pending_ops": []}, parse(MediaKind.VIDEO, "trim=12.5"), limits=LIMITS
        )
    assert str(refused.value) == (
        "trim='12.5': starts at 12.5 s, after the end of the 5 s video (the session's head); "
        "accepted: a START before 5 s, the end of the video"
    )
    still_to_run = {**head, "pending_ops": [[{"op": "speed", "factor": 0.5}]]}
    trim = parse(MediaKind.VIDEO, "trim=12.5")
    refuse_impossible_step(still_to_run, trim, limits=LIMITS)  # the runner's


def test_nothing_is_judged_by_what_is_not_known() -> None:
    assert refusal(MediaKind.VIDEO, "trim=12.5", SourceFacts()) is None
    assert refusal(MediaKind.IMAGE, "crop=60,0,10,10", SourceFacts()) is None


def test_a_workflow_run_names_the_media() -> None:
    media = {"id": uuid4(), "width": 64, "height": 48, "duration_seconds": 5.0}
    with pytest.raises(InvalidParameter) as refused:
        refuse_impossible_run(media, parse(MediaKind.VIDEO, "trim=12.5,20"), limits=LIMITS)
    assert (refused.value.parameter, refused.value.value) == ("media", str(media["id"]))
    assert refused.value.problem == (
        "the workflow's trim=12.5,20: starts at 12.5 s, after the end of the 5 s video"
    )


def test_a_video_recorded_as_lasting_0_s_is_of_unknown_length_not_refused_every_trim() -> None:
    """Uploads before a header's 0 s counted as no declaration recorded that 0."""
    media = {"id": uuid4(), "width": 64, "height": 48, "duration_seconds": 0.0}
    refuse_impossible_run(media, parse(MediaKind.VIDEO, "trim=0.5,1.5"), limits=LIMITS)
    head = {"head_width": 64, "head_height": 48, "head_duration_seconds": 0.0}
    refuse_impossible_step(
        {**head, "pending_ops": []}, parse(MediaKind.VIDEO, "trim=0.5"), limits=LIMITS
    )
