"""compose.yaml cannot be run here (no Docker engine), so it is checked against the code and
the configuration it mounts: every editroom command parses, every variable is a setting,
every port one side listens on is the one the other side calls, every mounted file exists,
the start order holds, and no secret is written down."""

import argparse
import os
import re
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from service.cli import build_parser
from service.http.security import allowed_host_names, host_allowed
from service.kernel.settings import Settings

COMPOSE_TEXT = Path("compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
APP_SERVICES = [
    name for name, service in SERVICES.items() if service.get("image") == "editroom:latest"
]
KNOWN_VARIABLES = {"DATABASE_URL"} | {f"EDITROOM_{name.upper()}" for name in Settings.model_fields}
EXAMPLE_ENV = dict(
    line.split("=", 1)
    for line in Path(".env.example").read_text().splitlines()
    if line and not line.startswith("#")
)
PROMETHEUS = yaml.safe_load(Path("observability/prometheus/prometheus.yml").read_text())
SCRAPE_JOBS = {job["job_name"]: job for job in PROMETHEUS["scrape_configs"]}


def interpolated(value: object) -> str:
    """A value as compose makes it from ${VAR}, ${VAR:-default} and ${VAR:?error}, with the
    variables of .env.example."""

    def variable(found: re.Match[str]) -> str:
        name, default = found.group(1), found.group(3) or ""
        return EXAMPLE_ENV.get(name, default if found.group(2) == ":-" else "")

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", variable, str(value))


def flag(service: str, name: str) -> str:
    """The value of `--name=value` or `--name value` in a service's command."""
    command = SERVICES[service]["command"]
    for i, part in enumerate(command):
        if part.startswith(f"{name}="):
            return str(part.split("=", 1)[1])
        if part == name:
            return str(command[i + 1])
    raise AssertionError(f"{service}'s command has no {name}")


def port_of(address: str) -> int:
    """The port of ':9090', '0.0.0.0:9090' or 'host:9090'."""
    return int(address.rsplit(":", 1)[1])


def repo_path(service: str, container_path: str) -> Path:
    """The file of this repository a bind mount shows at container_path in the service."""
    wanted = PurePosixPath(container_path)
    for volume in SERVICES[service].get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./") and wanted.is_relative_to(target):
            return Path(source) / wanted.relative_to(target)
    raise AssertionError(f"{service} mounts nothing of the repository at {container_path}")


def provided(value: object) -> bool:
    """Whether compose gives the variable a value: a literal or default that is not empty, or
    ${VAR:?error}, which stops compose when VAR is unset or empty."""
    return bool(interpolated(value)) or ":?" in str(value)


def pg_isready_options(test: list[str]) -> argparse.Namespace:
    """The options of a `pg_isready` health check, long or short, as pg_isready reads them."""
    assert test[:2] == ["CMD", "pg_isready"], test
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    for short, long in [("-h", "--host"), ("-p", "--port"), ("-U", "--username"),
                        ("-d", "--dbname"), ("-t", "--timeout")]:  # fmt: skip
        parser.add_argument(short, long)
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser.parse_args(test[2:])


def healthcheck_url(service: str) -> str:
    (url,) = re.findall(r"https?://[^\s'\"]+", " ".join(SERVICES[service]["healthcheck"]["test"]))
    return str(url)


# The editroom services


def test_the_app_runs_as_migrate_api_and_runner() -> None:
    assert sorted(APP_SERVICES) == ["api", "migrate", "runner"]


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_command_is_one_the_cli_accepts(name: str) -> None:
    build_parser(Settings()).parse_args(SERVICES[name]["command"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_variable_is_a_setting_and_a_valid_one(name: str) -> None:
    environment = SERVICES[name]["environment"]
    assert set(environment) <= KNOWN_VARIABLES
    values = {
        variable.removeprefix("EDITROOM_").lower(): interpolated(value)
        for variable, value in environment.items()
    }
    Settings.model_validate(values)  # e.g. a port that is not a number fails here


# What each needs to work: the database, and one bucket shared by the API and the runners
# (without S3 settings each container would keep media in a directory of its own).
S3_SETTINGS = {"EDITROOM_S3_ENDPOINT", "EDITROOM_S3_ACCESS_KEY", "EDITROOM_S3_SECRET_KEY",
               "EDITROOM_S3_BUCKET"}  # fmt: skip
NEEDED = {
    "migrate": {"DATABASE_URL"},
    "api": {"DATABASE_URL", *S3_SETTINGS},
    "runner": {"DATABASE_URL", *S3_SETTINGS, "EDITROOM_RUNNER_METRICS_HOST",
               "EDITROOM_RUNNER_METRICS_PORT"},
}  # fmt: skip


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_app_service_gets_the_settings_it_needs(name: str) -> None:
    environment = SERVICES[name]["environment"]
    given = {variable for variable, value in environment.items() if provided(value)}
    assert NEEDED[name] - given == set()


def test_the_api_and_the_runners_share_the_database_and_the_bucket() -> None:
    api, runner = SERVICES["api"]["environment"], SERVICES["runner"]["environment"]
    for variable in ("DATABASE_URL", *S3_SETTINGS, "EDITROOM_S3_PUBLIC_ENDPOINT"):
        assert api[variable] == runner[variable] == SERVICES["migrate"]["environment"][variable]
    setup = SERVICES["minio-setup"]["environment"]  # the key and bucket it makes
    for variable in ("EDITROOM_S3_ACCESS_KEY", "EDITROOM_S3_SECRET_KEY", "EDITROOM_S3_BUCKET"):
        assert api[variable] == setup[variable]


def test_the_database_url_is_the_postgres_service_s_account() -> None:
    url = urlsplit(interpolated(SERVICES["migrate"]["environment"]["DATABASE_URL"]))
    postgres = {name: interpolated(value) for name, value in
                SERVICES["postgres"]["environment"].items()}  # fmt: skip
    assert (url.hostname, url.port) == ("postgres", 5432)
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == postgres["POSTGRES_PASSWORD"] != ""
    assert url.path == f"/{postgres['POSTGRES_DB']}"


def test_postgres_is_healthy_only_once_it_accepts_tcp_connections() -> None:
    # The image's init server (fresh volume) listens on its Unix socket only; a check over
    # the socket passes then, and the one-shot migrate fails to connect over the network.
    check = pg_isready_options(SERVICES["postgres"]["healthcheck"]["test"])
    assert check.host in ("127.0.0.1", "localhost", "::1")
    assert int(check.port or 5432) == 5432
    postgres = SERVICES["postgres"]["environment"]
    assert (check.username, check.dbname) == (postgres["POSTGRES_USER"], postgres["POSTGRES_DB"])


def test_the_api_port_is_published_and_checked() -> None:
    port = flag("api", "--port")
    assert f"{port}:{port}" in SERVICES["api"]["ports"]
    assert healthcheck_url("api") == f"http://127.0.0.1:{port}/readyz"


def api_settings() -> Settings:
    environment = SERVICES["api"]["environment"]
    values = {name.removeprefix("EDITROOM_").lower(): interpolated(value)
              for name, value in environment.items()}  # fmt: skip
    return Settings.model_validate({**values, "host": flag("api", "--host"),
                                    "port": flag("api", "--port")})  # fmt: skip


def test_the_api_answers_every_name_it_is_called_by() -> None:
    allowed = allowed_host_names(api_settings())
    (scraped,) = SCRAPE_JOBS["api"]["static_configs"][0]["targets"]
    for host in (urlsplit(healthcheck_url("api")).netloc, scraped, "localhost:8000"):
        assert host_allowed(host, allowed), host
    assert not host_allowed("evil.example:8000", allowed)


def test_the_api_hands_out_urls_of_its_published_port() -> None:
    public = urlsplit(api_settings().base_url)
    assert f"{public.port}:{flag('api', '--port')}" in SERVICES["api"]["ports"]
    assert api_settings().api_token is None  # .env.example leaves it empty: no token


def test_media_go_to_the_minio_service() -> None:
    endpoint = urlsplit(SERVICES["api"]["environment"]["EDITROOM_S3_ENDPOINT"])
    assert endpoint.hostname == "minio"
    assert endpoint.port == port_of(flag("minio", "--address"))
    assert f"{endpoint.port}:{endpoint.port}" in SERVICES["minio"]["ports"]  # presigned PUTs
    setup = "\n".join(SERVICES["minio-setup"]["command"])
    assert f"mc alias set local http://minio:{endpoint.port}" in setup
    assert 'mc mb --ignore-existing "local/$$EDITROOM_S3_BUCKET"' in COMPOSE_TEXT


FAKE_MC = """#!/bin/sh
echo "mc $*" >> "$MC_CALLS"
if [ "$1 $2 $3" = "admin policy attach" ]; then
  echo "$MC_ATTACH_ANSWER"
  exit "$MC_ATTACH_STATUS"
fi
"""


def run_minio_setup(tmp_path: Path, *, attach_status: int, attach_answer: str) -> int:
    """minio-setup's script, as compose hands it to sh, with a fake mc that answers the policy
    attachment as told; returns the script's exit status."""
    mc = tmp_path / "mc"
    mc.write_text(FAKE_MC)
    mc.chmod(0o755)
    (script,) = SERVICES["minio-setup"]["command"]
    environment = {
        name: interpolated(value) for name, value in SERVICES["minio-setup"]["environment"].items()
    }
    setup = subprocess.run(
        [*SERVICES["minio-setup"]["entrypoint"], script.replace("$$", "$")],
        env={**environment, "PATH": f"{tmp_path}:{os.environ['PATH']}",
             "MC_CALLS": str(tmp_path / "calls"), "MC_ATTACH_ANSWER": attach_answer,
             "MC_ATTACH_STATUS": str(attach_status)},
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    calls = (tmp_path / "calls").read_text()
    assert "mc admin policy attach local readwrite --user editroom" in calls
    return setup.returncode


def test_minio_setup_attaches_the_policy(tmp_path: Path) -> None:
    answer = "Attached Policies: [readwrite]"
    assert run_minio_setup(tmp_path, attach_status=0, attach_answer=answer) == 0


def test_minio_setup_accepts_a_policy_already_attached(tmp_path: Path) -> None:
    answer = (
        "mc: <ERROR> Unable to make user/group policy association. The specified policy change "
        "is already in effect. (Specified policy update has no net effect)."
    )  # what mc before minio/mc#5058 says on a second `up`
    assert run_minio_setup(tmp_path, attach_status=1, attach_answer=answer) == 0


def test_minio_setup_fails_when_the_policy_cannot_be_attached(tmp_path: Path) -> None:
    answer = "mc: <ERROR> Unable to make user/group policy association. Policy not found."
    assert run_minio_setup(tmp_path, attach_status=1, attach_answer=answer) != 0


# Runners: scalable, each scraped


def test_runners_scale_without_clashing() -> None:
    runner = SERVICES["runner"]
    assert "container_name" not in runner and "ports" not in runner
    assert runner["environment"]["EDITROOM_RUNNER_METRICS_HOST"] == "0.0.0.0"


def test_prometheus_finds_every_runner_on_its_metrics_port() -> None:
    port = int(SERVICES["runner"]["environment"]["EDITROOM_RUNNER_METRICS_PORT"])
    (discovery,) = SCRAPE_JOBS["runner"]["dns_sd_configs"]
    assert discovery["names"] == ["runner"] and discovery["type"] == "A"
    assert discovery["port"] == port
    assert healthcheck_url("runner") == f"http://127.0.0.1:{port}/metrics"


# The monitoring services


def test_prometheus_scrapes_the_api_and_the_exporter_where_they_listen() -> None:
    targets = {
        job: config["static_configs"][0]["targets"]
        for job, config in SCRAPE_JOBS.items()
        if "static_configs" in config
    }
    exporter_port = port_of(flag("postgres-exporter", "--web.listen-address"))
    assert targets == {
        "api": [f"api:{flag('api', '--port')}"],
        "postgres": [f"postgres-exporter:{exporter_port}"],
    }


def test_prometheus_reads_this_repository_s_configuration() -> None:
    config = repo_path("prometheus", flag("prometheus", "--config.file"))
    assert config == Path("observability/prometheus/prometheus.yml")
    for rule_file in PROMETHEUS["rule_files"]:
        assert (config.parent / rule_file).is_file()
    port = port_of(flag("prometheus", "--web.listen-address"))
    assert healthcheck_url("prometheus") == f"http://127.0.0.1:{port}/-/ready"


def test_the_exporter_runs_this_repository_s_queries_on_the_editroom_database() -> None:
    queries = repo_path("postgres-exporter", flag("postgres-exporter", "--extend.query-path"))
    assert queries == Path("observability/postgres_exporter/queries.yaml")
    exporter = urlsplit(
        interpolated(SERVICES["postgres-exporter"]["environment"]["DATA_SOURCE_NAME"])
    )
    app = urlsplit(interpolated(SERVICES["api"]["environment"]["DATABASE_URL"]))
    same = ("hostname", "port", "path", "username", "password")
    assert [getattr(exporter, part) for part in same] == [getattr(app, part) for part in same]
    port = port_of(flag("postgres-exporter", "--web.listen-address"))
    assert healthcheck_url("postgres-exporter") == f"http://127.0.0.1:{port}/metrics"


def test_grafana_reads_prometheus_and_the_dashboard() -> None:
    path = "observability/grafana/provisioning/datasources/prometheus.yml"
    (datasource,) = yaml.safe_load(Path(path).read_text())["datasources"]
    prometheus = urlsplit(datasource["url"])
    assert prometheus.hostname == "prometheus"
    assert prometheus.port == port_of(flag("prometheus", "--web.listen-address"))
    assert repo_path("grafana", "/etc/grafana/provisioning/datasources/prometheus.yml").is_file()
    home = SERVICES["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert repo_path("grafana", home) == Path(
        "observability/grafana/dashboards/editroom-queue.json"
    )


# Order, data, secrets, image


def test_start_order() -> None:
    after = {name: service.get("depends_on", {}) for name, service in SERVICES.items()}
    assert after["migrate"] == {"postgres": {"condition": "service_healthy"}}
    assert after["minio-setup"] == {"minio": {"condition": "service_healthy"}}
    done = {"condition": "service_completed_successfully"}
    for name in ("api", "runner"):
        assert after[name] == {"migrate": done, "minio-setup": done}
    assert after["postgres-exporter"] == {"migrate": done}
    assert set(after["prometheus"]) == {"api", "postgres-exporter"}
    assert set(after["grafana"]) == {"prometheus"}


def test_every_condition_can_be_met() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in service.get("depends_on", {}).items():
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], (name, dependency)
            else:  # a one-shot: never restarted, or "completed" never comes
                assert rule["condition"] == "service_completed_successfully"
                assert SERVICES[dependency]["restart"] == "no", (name, dependency)


def test_state_lives_in_named_volumes() -> None:
    for service, path in [
        ("postgres", "/var/lib/postgresql/data"), ("minio", "/data"),
        ("prometheus", "/prometheus"), ("grafana", "/var/lib/grafana"),
    ]:  # fmt: skip
        (volume,) = [v for v in SERVICES[service]["volumes"] if v.endswith(f":{path}")]
        assert volume.split(":")[0] in COMPOSE["volumes"]


def test_no_secret_is_baked_in() -> None:
    example = Path(".env.example").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_TEXT))
    assert {"POSTGRES_PASSWORD", "MINIO_ROOT_PASSWORD", "EDITROOM_S3_SECRET_KEY",
            "GRAFANA_ADMIN_PASSWORD"} <= required  # fmt: skip
    for variable in set(re.findall(r"\$\{(\w+)", COMPOSE_TEXT)):
        assert re.search(rf"^{variable}=", example, re.MULTILINE), f"{variable} not in .env.example"
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET", variable):
                assert str(value).startswith("${") and ":?" in str(value), (name, variable)


def test_the_image_has_fonts_a_writable_data_dir_and_both_ports() -> None:
    dockerfile = Path("Dockerfile").read_text()
    assert "fonts-dejavu-core" in dockerfile
    assert "EDITROOM_DATA_DIR=/var/lib/editroom" in dockerfile
    assert "install -d -o editroom -g editroom /var/lib/editroom" in dockerfile
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)
    assert exposed is not None
    runner_port = SERVICES["runner"]["environment"]["EDITROOM_RUNNER_METRICS_PORT"]
    assert set(exposed.group(1).split()) == {flag("api", "--port"), runner_port}
