"""Settings come from EDITROOM_* and DATABASE_URL, and the README lists every one, and no other."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import AliasChoices, ValidationError

from service.kernel.errors import ConfigurationError
from service.kernel.settings import Settings

README = Path("README.md")
CONFTEST = Path("tests/conftest.py")


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


def variables_read() -> set[str]:
    """Every variable the settings read: each field's name, and its other names."""
    names = set()
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        others = alias.choices if isinstance(alias, AliasChoices) else []
        names |= {env_name(field), *(str(name) for name in others if str(name).isupper())}
    return names


def test_every_variable_the_configuration_table_lists_is_read() -> None:
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.MULTILINE))
    assert "EDITROOM_PORT" in listed
    assert listed <= variables_read(), f"not settings: {sorted(listed - variables_read())}"


def test_every_editroom_variable_the_readme_names_is_read() -> None:
    """A setting renamed or removed leaves no mention that would do nothing when set; the
    test suite's own variables are read by tests/conftest.py."""
    named = set(re.findall(r"\bEDITROOM_[A-Z0-9_]*[A-Z0-9]\b", README.read_text()))
    by_tests = set(re.findall(r"\bEDITROOM_[A-Z0-9_]*[A-Z0-9]\b", CONFTEST.read_text()))
    unread = named - variables_read() - by_tests
    assert not unread, f"README names variables nothing reads: {sorted(unread)}"


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/editroom")
    monkeypatch.setenv("EDITROOM_RUNNER_CONCURRENCY", "7")
    monkeypatch.setenv("EDITROOM_POLL_INTERVAL_SECONDS", "0.5")
    settings = Settings()
    assert settings.require_database_url() == "postgresql://db/editroom"
    assert settings.runner_image_slots == 7  # the former name still sets the image lane
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


def postmaster_pid(data_dir: Path, pid: int) -> Path:
    """The file a running embedded server keeps in data_dir/pgdata (PostgreSQL's format),
    its socket in that folder."""
    pgdata = data_dir / "pgdata"
    pgdata.mkdir()
    lines = [str(pid), str(pgdata), "1796634568", "5432", str(pgdata), "", "5800110 1", "ready"]
    (pgdata / "postmaster.pid").write_text("\n".join(lines) + "\n")
    return pgdata


def test_missing_database_url_beside_make_run_names_its_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`editroom fsck` (or cleanup, db current) run while `make run` is up is told the URL of
    the embedded database it serves, not to start another."""
    pgdata = postmaster_pid(tmp_path, os.getpid())  # a process that runs
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EDITROOM_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDITROOM_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError) as refused:
        Settings().require_database_url()
    assert f"DATABASE_URL='postgresql://postgres:@/editroom?host={pgdata}'" in str(refused.value)


def test_a_stopped_embedded_database_is_not_offered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A postmaster.pid left by a server that was killed names no database to offer."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    postmaster_pid(tmp_path, ended.pid)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("EDITROOM_DATABASE_URL", raising=False)
    monkeypatch.setenv("EDITROOM_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigurationError, match="or use `editroom run`, which starts"):
        Settings().require_database_url()


@pytest.mark.parametrize(
    ("options", "base_url"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"host": "0.0.0.0", "port": 9000}, "http://localhost:9000"),
        ({"host": "::1"}, "http://[::1]:8000"),
        ({"public_url": "https://editroom.example/"}, "https://editroom.example"),
    ],
)
def test_urls_handed_out_start_with_the_public_url(
    options: dict[str, object], base_url: str
) -> None:
    assert Settings.model_validate(options).base_url == base_url


@pytest.mark.parametrize("url", ["editroom.example", "ftp://editroom.example", "http://x/?a=1"])
def test_a_public_url_must_be_an_http_base(url: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(public_url=url)


def test_an_empty_api_token_is_no_token() -> None:
    assert Settings.model_validate({"api_token": ""}).api_token is None
    settings = Settings.model_validate({"api_token": "s3cret"})
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
