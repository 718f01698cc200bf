"""Settings from the environment, and what is wrong with them in an operator's words: one
line naming each variable to fix, which `editroom` prints before it starts anything."""

import os
import tempfile
from pathlib import Path

from pydantic import AliasChoices, ValidationError
from pydantic_core import ErrorDetails

from service.kernel.errors import ConfigurationError
from service.kernel.settings import Settings


def load_settings() -> Settings:
    """Settings from the environment; a wrong value is a ConfigurationError, one line naming
    each variable to fix (never its value when it may be a secret)."""
    urls = {os.environ.get(name) for name in ("DATABASE_URL", "EDITROOM_DATABASE_URL")}
    if len(urls) == 2 and None not in urls and "" not in urls:  # which one was meant?
        raise ConfigurationError(
            "DATABASE_URL and EDITROOM_DATABASE_URL name different databases: set one of them"
        )
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError("; ".join(_problem(error) for error in exc.errors())) from None


_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "DATABASE_URL")


def _problem(error: ErrorDetails) -> str:
    message = error["msg"].removeprefix("Value error, ")
    if not error["loc"]:  # a rule across settings: its message names them
        return message
    variable = _variable(str(error["loc"][0]))
    if any(word in variable for word in _SECRET_WORDS):
        return f"{variable}: {message}"
    return f"{variable}={error.get('input')!r}: {message}"


def _variable(name: str) -> str:
    """The variable that set a field, as the operator wrote it (a former name included)."""
    field = Settings.model_fields.get(name)
    if field is None:  # an alias: find its field
        field = next(
            f for f in Settings.model_fields.values()
            if isinstance(f.validation_alias, AliasChoices) and name in f.validation_alias.choices
        )  # fmt: skip
        name = next(n for n, f in Settings.model_fields.items() if f is field)
    choices = (
        [str(choice) for choice in field.validation_alias.choices if str(choice).isupper()]
        if isinstance(field.validation_alias, AliasChoices)
        else [f"EDITROOM_{name.upper()}"]
    )
    present = {variable.upper() for variable in os.environ}
    return next((choice for choice in choices if choice in present), choices[0])


def writable_directory(path: Path, *, variable: str) -> None:
    """Make `path` if need be and write in it, or raise a ConfigurationError naming
    `variable`: a process that cannot write where it works would start, look healthy, and
    fail each job it took."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"{variable}: cannot write in {path} ({exc.strerror or exc})"
        ) from None
