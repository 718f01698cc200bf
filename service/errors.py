"""One base exception, a subclass per kind of failure. service/http.py maps them to statuses."""


class EditroomError(Exception):
    """Something editroom refuses or cannot do, with a message a person can act on."""


class ConfigurationError(EditroomError):
    """A setting is missing or wrong."""


class NotFound(EditroomError):
    """The thing named does not exist."""


class Conflict(EditroomError):
    """The thing exists but is in a state that forbids the request."""


class InvalidInput(EditroomError):
    """A value was refused; the message names it and says what is accepted."""


class DatabaseUnavailable(EditroomError):
    """PostgreSQL could not be reached or failed transiently; trying again may work."""
