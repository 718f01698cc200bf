"""Messages that count say one thing in the singular: a limit set to 1, or a queue holding
one edit, read "1 edits are waiting to run" (service.kernel.wording.counted)."""

import pytest

from runner.engine.frames import Frames
from service.domain.admission import refuse_when_full
from service.domain.fsck_report import FsckReport
from service.kernel.errors import StreamsBusy, TooManyQueued, UploadsBusy
from service.kernel.receive import upload_slots
from service.kernel.wording import counted


@pytest.mark.parametrize(
    ("count", "said"), [(0, "0 edits"), (1, "1 edit"), (2, "2 edits"), (1500, "1,500 edits")]
)
def test_a_count_is_said_with_its_noun_in_number(count: int, said: str) -> None:
    assert counted(count, "edit") == said


def test_refusals_at_a_limit_of_one_say_it_in_the_singular() -> None:
    with pytest.raises(TooManyQueued) as full:
        refuse_when_full(1, max_queued=1)
    assert str(full.value) == (
        "the queue holds 1 edit waiting to run, and this server accepts at most 1 "
        "(EDITROOM_MAX_QUEUED); try again once runners have caught up"
    )
    assert str(StreamsBusy(limit=1)).startswith(
        "this service has 1 event stream open, as many as it serves (EDITROOM_MAX_EVENT_STREAMS)"
    )
    uploads = upload_slots(1)
    uploads.take()
    with pytest.raises(UploadsBusy) as busy:
        uploads.take()
    assert str(busy.value).startswith(
        "this server is receiving 1 upload already, the most at once "
        "(EDITROOM_MAX_CONCURRENT_UPLOADS)"
    )


def test_an_image_of_one_frame_is_said_to_have_one() -> None:
    assert Frames(sizes=((7000, 7000),)).declared() == "1 frame on a 7000x7000 canvas"
    assert Frames(sizes=((800, 600),), noun="page").declared() == "1 page of 800x600"


def test_a_fsck_summary_of_ones_says_each_in_the_singular() -> None:
    report = FsckReport(
        objects_checked=1, media_checked=1, objects_hashed=1, young_unreferenced=1,
        videos_remeasured=1, lengths_recorded=1,
    )  # fmt: skip
    lines = report.summary().splitlines()
    assert (
        lines[0] == "checked 1 stored object and 1 ready media (1 hashed, 1 video measured again)"
    )
    assert lines[2].endswith(
        "; 1 object without a row, younger than EDITROOM_ORPHAN_GRACE_SECONDS, left alone"
    )
    assert lines[3].startswith("recorded 1 video length: restart the service")
