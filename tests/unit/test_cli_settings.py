"""A wrong setting stops `editroom` at start-up with one line naming the variable to fix,
not a traceback, and not a process that starts and misbehaves later."""

import socket
from pathlib import Path

import pytest

from service.cli import build_parser, main
from service.kernel.environment import load_settings
from service.kernel.settings import Settings


def started(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            **environment: str) -> tuple[int, list[str]]:  # fmt: skip
    monkeypatch.delenv("DATABASE_URL", raising=False)  # nothing here may reach a database
    monkeypatch.delenv("EDITROOM_DATABASE_URL", raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    code = main(["db", "current"])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EDITROOM_PORT", "abc"),
        ("EDITROOM_RUNNER_VIDEO_SLOTS", "-1"),
        ("EDITROOM_PUBLIC_URL", "editroom.example"),
        ("EDITROOM_IMPORT_ALLOW_PRIVATE", "maybe"),
        ("EDITROOM_LOG_LEVEL", "verbose"),  # was a ValueError from logging, after parsing
    ],
)
def test_a_wrong_value_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str,
    value: str,
) -> None:  # fmt: skip
    code, lines = started(monkeypatch, capsys, **{variable: value})
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"editroom: {variable}")
    assert "Traceback" not in lines[0] and "errors.pydantic.dev" not in lines[0]


def test_a_former_name_is_named_as_it_was_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines = started(monkeypatch, capsys, EDITROOM_RUNNER_CONCURRENCY="0")
    assert code == 2 and lines[0].startswith("editroom: EDITROOM_RUNNER_CONCURRENCY")


@pytest.mark.parametrize(
    "environment",
    [
        # The default lease (300 s) between two heartbeats: every edit without a progress
        # change in that time was reaped from a runner still working on it, then retried.
        {"EDITROOM_HEARTBEAT_SECONDS": "600"},
        {"EDITROOM_LEASE_SECONDS": "15"},  # the default heartbeat (10 s) is over half of it
        # Heartbeats are sent on progress ticks: a slow tick delays every one of them.
        {"EDITROOM_PROGRESS_INTERVAL_SECONDS": "400"},
    ],
)
def test_leases_that_expire_between_heartbeats_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    environment: dict[str, str],
) -> None:  # fmt: skip
    code, lines = started(monkeypatch, capsys, **environment)
    assert code == 2 and len(lines) == 1
    assert "EDITROOM_LEASE_SECONDS" in lines[0] and "EDITROOM_HEARTBEAT_SECONDS" in lines[0]


@pytest.mark.parametrize(
    "argv",
    [
        # Was taken as is: -3 image slots; 0 fell back to EDITROOM_RUNNER_IMAGE_SLOTS unsaid.
        ["runner", "--concurrency", "0"],
        ["runner", "--concurrency", "-3"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "0"],
        ["run", "--port", "-1"],
        ["db", "upgrade", "--wait", "-5"],
        ["db", "upgrade", "--wait", "nan"],
    ],
)
def test_an_option_out_of_range_is_a_usage_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser(Settings()).parse_args(argv)
    assert stopped.value.code == 2
    assert f"argument {argv[-2]}" in capsys.readouterr().err


def test_options_in_range_are_taken() -> None:
    parser = build_parser(Settings())
    assert parser.parse_args(["runner", "--concurrency", "1"]).concurrency == 1
    assert parser.parse_args(["serve", "--port", "65535"]).port == 65535
    assert parser.parse_args(["db", "upgrade", "--wait", "0"]).wait == 0


@pytest.mark.parametrize("variable", ["DATABASE_URL", "EDITROOM_DATABASE_URL"])
def test_a_malformed_database_url_is_refused_without_its_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str
) -> None:
    # Was a psycopg.ProgrammingError traceback from whichever command first connected.
    code, lines = started(monkeypatch, capsys, **{variable: "user=editroom password=p4ss host"})
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"editroom: {variable}")
    assert "p4ss" not in lines[0]


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        # Was a ValueError traceback when the API or a runner first opened the bucket (after
        # the database), or, for a path, presigned URLs that silently left the path out.
        ({"EDITROOM_S3_ENDPOINT": "minio:9000"}, "EDITROOM_S3_ENDPOINT"),
        ({"EDITROOM_S3_ENDPOINT": "http://minio:9000/editroom"}, "EDITROOM_S3_ENDPOINT"),
        ({"EDITROOM_S3_PUBLIC_ENDPOINT": "https://cdn.example/s3"}, "EDITROOM_S3_PUBLIC_ENDPOINT"),
        # S3 without its key: anonymous requests, refused at the first one.
        (
            {"EDITROOM_S3_ENDPOINT": "http://minio:9000", "EDITROOM_S3_ACCESS_KEY": ""},
            "EDITROOM_S3_ACCESS_KEY",
        ),
    ],
)
def test_an_s3_endpoint_is_checked_at_start_up(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    environment: dict[str, str], named: str,
) -> None:  # fmt: skip
    defaults = {"EDITROOM_S3_ENDPOINT": "http://minio:9000", "EDITROOM_S3_ACCESS_KEY": "editroom",
                "EDITROOM_S3_SECRET_KEY": "s3cret"}  # fmt: skip
    code, lines = started(monkeypatch, capsys, **{**defaults, **environment})
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"editroom: {named}")
    assert "s3cret" not in lines[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # Was dropped unsaid: every POST from ui.example then a 403 with nothing at start-up.
        ("EDITROOM_ALLOWED_ORIGINS", "https://ui.example,ui2.example"),
        # Was a ValueError traceback from the API's start-up and every runner's.
        ("EDITROOM_IMPORT_ALLOWED_NETWORKS", "10.0.0.0/33"),
        ("EDITROOM_IMPORT_ALLOWED_NETWORKS", "10.0.0.1/8"),
        # A URL where a host name goes: never matches a Host header, so every request a 400.
        ("EDITROOM_ALLOWED_HOSTS", "https://editroom.example"),
    ],
)
def test_a_list_setting_with_a_wrong_entry_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], variable: str,
    value: str,
) -> None:  # fmt: skip
    code, lines = started(monkeypatch, capsys, **{variable: value})
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"editroom: {variable}")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EDITROOM_ALLOWED_ORIGINS", "https://ui.example, http://localhost:5173/"),
        ("EDITROOM_IMPORT_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8,192.168.1.7"),
        ("EDITROOM_ALLOWED_HOSTS", "editroom.example,api:8000,[::1],*"),
    ],
)
def test_a_list_setting_as_documented_is_taken(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), variable.removeprefix("EDITROOM_").lower()) == value


@pytest.mark.parametrize("command", ["run", "serve"])
def test_run_on_a_port_in_use_stops_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """`editroom run` used to start everything, connect to whatever held the port, log
    "editroom is up" with its URL, and only then see its API fail to bind; `editroom serve`
    warmed up for seconds, then exited 3 with uvicorn's "[Errno 98] error while attempting
    to bind"."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
        monkeypatch.setenv("EDITROOM_HOST", "127.0.0.1")
        code = main([command, "--port", str(port)])
    lines = [line for line in capsys.readouterr().err.splitlines() if "level=" not in line]
    (line,) = lines
    assert code == 2 and line.startswith("editroom: EDITROOM_PORT") and str(port) in line


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        # A runner started, looked healthy, and failed every edit it claimed, trial after
        # trial ("FileExistsError: File exists": its scratch folder could not be made).
        ("runner", "EDITROOM_WORK_DIR"),
        # The API started and refused every upload with a 500.
        ("serve", "EDITROOM_UPLOAD_DIR"),
    ],
)
def test_a_directory_it_cannot_write_in_stops_the_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    command: str, variable: str,
) -> None:  # fmt: skip
    not_a_directory = tmp_path / "file"
    not_a_directory.write_bytes(b"")
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/nothing")
    monkeypatch.setenv("EDITROOM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv(variable, str(not_a_directory))
    code = main([command])
    lines = [line for line in capsys.readouterr().err.splitlines() if "level=" not in line]
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith(f"editroom: {variable}") and str(not_a_directory) in lines[0]


def test_two_different_database_urls_are_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DATABASE_URL won unsaid: a deployment moved to EDITROOM_DATABASE_URL kept using the
    database an old DATABASE_URL (a base image's, a shell's) named."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://editroom:p4ss@old-db/editroom")
    monkeypatch.setenv("EDITROOM_DATABASE_URL", "postgresql://editroom:p4ss@new-db/editroom")
    code = main(["db", "current"])
    (line,) = capsys.readouterr().err.splitlines()
    assert code == 2 and "DATABASE_URL" in line and "EDITROOM_DATABASE_URL" in line
    assert "p4ss" not in line


def test_the_same_database_url_under_both_names_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/editroom")
    monkeypatch.setenv("EDITROOM_DATABASE_URL", "postgresql://db/editroom")
    assert load_settings().database_url == "postgresql://db/editroom"
