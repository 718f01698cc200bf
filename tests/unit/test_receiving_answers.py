"""A receiving route's declared answers: its own, and receiving's 408, 413 and 503."""

import pytest

from service.http.receiving import with_receiving


def test_receivings_answers_join_the_routes_in_the_order_of_their_status() -> None:
    responses = with_receiving({201: {"description": "made"}}, too_large="the limit")
    assert list(responses) == [201, 408, 413, 503]
    assert responses[413] == {"description": "larger than the limit"}


def test_a_route_declaring_an_answer_receiving_gives_is_refused() -> None:
    """Merged, receiving's replaced the route's without a word."""
    with pytest.raises(ValueError, match=r"^receiving answers 413 itself: say a 413's limit"):
        with_receiving({413: {"description": "too long a video"}}, too_large="the limit")
