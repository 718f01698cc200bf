"""An edit's time limit: EDITROOM_EDIT_TIMEOUT_SECONDS, plus EDITROOM_EDIT_SECONDS_PER_VIDEO_SECOND
for every second of video the edit reads, up to EDITROOM_MAX_VIDEO_SECONDS of it in all."""

import pytest

from runner.process.execute import edit_time_limit_seconds
from service.kernel.db import Row
from service.kernel.settings import Settings

SETTINGS = Settings(edit_timeout_seconds=60, edit_seconds_per_video_second=2)


def limit(*durations: float | None, settings: Settings = SETTINGS) -> float:
    """The limit of an edit reading media of these durations (None: an image)."""
    media: list[Row] = [
        {"kind": "image" if seconds is None else "video", "duration_seconds": seconds}
        for seconds in durations
    ]
    return edit_time_limit_seconds(settings, media)


def test_an_image_gets_the_base_limit() -> None:
    assert limit(None) == 60


def test_a_video_too_short_to_count_gets_the_base_as_its_floor() -> None:
    assert 60 < limit(0.04) < 60.1


def test_a_video_recorded_as_lasting_0_s_counts_as_long_as_a_video_may_be() -> None:
    """Uploads before a header's 0 s counted as no declaration recorded that 0: its length is
    unknown, and its data was held to EDITROOM_MAX_VIDEO_SECONDS."""
    bounded = Settings(
        edit_timeout_seconds=60, edit_seconds_per_video_second=2, max_video_seconds=90
    )
    assert limit(0.0, settings=bounded) == limit(90, settings=bounded) == 240


def test_the_video_counted_is_no_more_than_a_result_may_last() -> None:
    """make_plan refuses a result longer than EDITROOM_MAX_VIDEO_SECONDS. Summed without a cap,
    a media of unknown length named three times (concat=Z,Z,Z) counted the limit three times."""
    bounded = Settings(
        edit_timeout_seconds=60, edit_seconds_per_video_second=2, max_video_seconds=90
    )
    assert limit(0.0, 0.0, 0.0, settings=bounded) == limit(90, settings=bounded) == 240
    assert limit(60, 60, settings=bounded) == 240


@pytest.mark.parametrize(("seconds", "expected"), [(1, 62), (10, 80), (100, 260), (3600, 7260)])
def test_a_longer_video_gets_proportionally_more_time(seconds: float, expected: float) -> None:
    assert limit(seconds) == expected


def test_concatenated_videos_count_with_the_source() -> None:
    assert limit(30, 20, 10) == limit(60) == 180
    assert limit(30, None) == limit(30)  # an image among them adds nothing


def test_without_a_per_second_part_every_edit_gets_the_base() -> None:
    flat = Settings(edit_timeout_seconds=0.05, edit_seconds_per_video_second=0)
    assert limit(None, settings=flat) == limit(600, 600, settings=flat) == 0.05


def test_the_defaults_give_a_minute_of_video_fifteen_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("EDITROOM_EDIT_TIMEOUT_SECONDS", raising=False)
    monkeypatch.delenv("EDITROOM_EDIT_SECONDS_PER_VIDEO_SECOND", raising=False)
    defaults = Settings()
    assert limit(None, settings=defaults) == 300
    assert limit(60, settings=defaults) == 900
