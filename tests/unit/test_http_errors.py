import pytest

from service.http.errors import status_for
from service.kernel.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    EditroomError,
    InvalidInput,
    NotFound,
)


class MissingMedia(NotFound):
    pass


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFound("x"), 404),
        (MissingMedia("x"), 404),
        (Conflict("x"), 409),
        (InvalidInput("x"), 422),
        (DatabaseUnavailable("x"), 503),
        (ConfigurationError("x"), 500),
        (EditroomError("x"), 500),
    ],
)
def test_each_error_has_its_status(error: EditroomError, status: int) -> None:
    assert status_for(error) == status
