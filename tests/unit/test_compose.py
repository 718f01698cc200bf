"""compose.yaml cannot be run here (no Docker engine), so it is checked against the code:
every editroom command parses, every variable is a setting, the start order holds."""

from pathlib import Path
from typing import Any

import pytest
import yaml

from service.cli import build_parser
from service.settings import Settings

COMPOSE = yaml.safe_load(Path("compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = [
    name for name, service in SERVICES.items() if service.get("image") == "editroom:latest"
]
KNOWN_VARIABLES = {"DATABASE_URL"} | {f"EDITROOM_{name.upper()}" for name in Settings.model_fields}


def test_the_app_runs_as_migrate_api_and_runner() -> None:
    assert sorted(APP_SERVICES) == ["api", "migrate", "runner"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_command_is_one_the_cli_accepts(name: str) -> None:
    build_parser(Settings()).parse_args(SERVICES[name]["command"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_variable_is_a_setting(name: str) -> None:
    assert set(SERVICES[name]["environment"]) <= KNOWN_VARIABLES


def test_the_api_port_is_published_and_checked() -> None:
    api = SERVICES["api"]
    port = api["command"][api["command"].index("--port") + 1]
    assert f"{port}:{port}" in api["ports"]
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])


def test_start_order() -> None:
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("api", "runner"):
        assert SERVICES[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }


def test_no_secret_is_baked_in() -> None:
    assert "${POSTGRES_PASSWORD:?" in Path("compose.yaml").read_text()
    assert "POSTGRES_PASSWORD=" in Path(".env.example").read_text()
