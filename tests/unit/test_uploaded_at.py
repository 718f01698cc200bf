"""uploadedAt's refusals: what a client most often gets wrong is a datetime's offset, whose +
a query string turns into a space unless it is sent as %2B."""

import pytest

from service.http.timeranges import parse_uploaded_at
from service.kernel.errors import InvalidParameter


@pytest.mark.parametrize("text", ["2026-11-23T10:00 01:00..", "..2026-11-23T10:00:00 0100"])
def test_an_offset_whose_plus_became_a_space_is_named(text: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_uploaded_at(text)
    assert "its offset's + arrived as a space: send it as %2B" in refused.value.problem
    assert "%2B" in refused.value.accepted


def test_another_bad_side_gets_no_such_hint() -> None:
    with pytest.raises(InvalidParameter) as refused:
        parse_uploaded_at("yesterday..")
    assert refused.value.problem == "'yesterday' is not a date or datetime"


def test_the_offset_sent_as_2b_is_read() -> None:
    since, before = parse_uploaded_at("2026-11-23T10:00+01:00..")
    assert since is not None and since.isoformat() == "2026-11-23T10:00:00+01:00"
    assert before is None
