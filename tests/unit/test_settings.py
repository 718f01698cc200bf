"""Settings come from EDITROOM_* and DATABASE_URL, and the README lists every one."""

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.kernel.errors import ConfigurationError
from service.kernel.settings import Settings

README = Path("README.md")


def env_name(field: str) -> str:
    return "DATABASE_URL" if field == "database_url" else f"EDITROOM_{field.upper()}"


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_readme_documents_every_setting_with_its_default(field: str) -> None:
    default = Settings.model_fields[field].default
    shown = "(unset)" if default is None else str(default)
    row = re.search(
        rf"^\| `{env_name(field)}` \| `?([^|`]*)`? \|", README.read_text(), re.MULTILINE
    )
    assert row is not None, f"README's configuration table has no row for {env_name(field)}"
    assert row.group(1).strip() == shown


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/editroom")
    monkeypatch.setenv("EDITROOM_RUNNER_CONCURRENCY", "7")
    monkeypatch.setenv("EDITROOM_POLL_INTERVAL_SECONDS", "0.5")
    settings = Settings()
    assert settings.require_database_url() == "postgresql://db/editroom"
    assert settings.runner_concurrency == 7
    assert settings.poll_interval_seconds == 0.5


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDITROOM_LEASE_SECONDS", "-3")
    with pytest.raises(ValidationError, match="lease_seconds"):
        Settings()


def test_missing_database_url_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EDITROOM_DATABASE_URL", raising=False)
    with pytest.raises(ConfigurationError, match="editroom run"):
        Settings().require_database_url()
