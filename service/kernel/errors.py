"""One base exception, a subclass per kind of failure. service/http/errors.py maps them to
statuses."""

from service.kernel.excerpt import excerpt


def from_the_disk(error: BaseException) -> bool:
    """Whether an error is the disk's (or the system's) trouble rather than the data's: an
    OSError carrying an errno (EIO, ENOSPC, EACCES...). Decoders raise OSErrors without one for
    damaged data. Such errors pass through as they are, to be retried."""
    return isinstance(error, OSError) and error.errno is not None


class EditroomError(Exception):
    """Something editroom refuses or cannot do, with a message a person can act on."""

    def details(self) -> dict[str, str]:
        """Fields for the error body beside the message (which parameter, what is accepted)."""
        return {}


class ConfigurationError(EditroomError):
    """A setting is missing or wrong."""


class NotFound(EditroomError):
    """The thing named does not exist."""


class Conflict(EditroomError):
    """The thing exists but is in a state that forbids the request."""


class InvalidInput(EditroomError):
    """A value was refused; the message names it and says what is accepted."""


class InvalidParameter(InvalidInput):
    """One named parameter's value was refused."""

    def __init__(self, parameter: str, value: object, problem: str, *, accepted: str) -> None:
        self.parameter = parameter
        self.value = excerpt(value)
        self.accepted = accepted
        super().__init__(f"{parameter}={self.value!r}: {problem}; accepted: {accepted}")

    def details(self) -> dict[str, str]:
        return {"parameter": self.parameter, "value": self.value, "accepted": self.accepted}


class Forbidden(EditroomError):
    """The request is not allowed as made (a forged or expired signed URL)."""


class UnsupportedMedia(EditroomError):
    """The bytes are not an image or a video editroom can read."""


class InvalidMedia(InvalidInput):
    """An image or video, but broken or beyond a limit: truncated, corrupt, too many pixels."""


class TooLarge(EditroomError):
    """A request body over the size limit."""


class DatabaseUnavailable(EditroomError):
    """PostgreSQL could not be reached or failed transiently; trying again may work."""
