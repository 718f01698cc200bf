"""The `editroom` command."""

import argparse
import asyncio
import json
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from service.kernel.addresses import check_can_listen
from service.kernel.environment import load_settings, writable_directory
from service.kernel.errors import EditroomError
from service.kernel.logs import configure_logging
from service.kernel.settings import Settings

if TYPE_CHECKING:
    from service.domain.cleanup import CleanupReport
    from service.domain.fsck import Finding, FsckReport

# Each command imports what it needs when it runs: the API process then never loads the
# runner's media stack (yt-dlp, the pipelines), which keeps its memory small.

# How long `editroom db upgrade` waits for PostgreSQL to accept connections: a container's
# migration may start while the database is still initialising (`--wait` changes it).
DATABASE_WAIT_SECONDS = 30.0


def _number(parse: "type[int] | type[float]", *, low: float, high: float, what: str) -> Any:
    """An argparse type: a number within [low, high], else a usage error saying so."""

    def checked(text: str) -> int | float:
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:  # NaN is in no range
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value

    return checked


_PORT = _number(int, low=1, high=65535, what="a port (1 to 65535)")
_SLOTS = _number(int, low=1, high=math.inf, what="a number of slots, 1 or more")
_SECONDS = _number(float, low=0, high=math.inf, what="a number of seconds, 0 or more")


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="editroom", description="A media editor over HTTP.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="database (embedded unless DATABASE_URL), API, runner")
    run.add_argument("--port", type=_PORT, default=settings.port)

    serve = commands.add_parser("serve", help="the HTTP API")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=_PORT, default=settings.port)

    runner = commands.add_parser("runner", help="claim and carry out edits")
    runner.add_argument(
        "--concurrency", type=_SLOTS, default=settings.runner_image_slots,
        help="image edits at once (the image lane's slots; videos and imports have their own)",
    )  # fmt: skip

    cleanup = commands.add_parser(
        "cleanup", help="remove expired uploads, orphaned stored objects, dead scratch folders"
    )
    cleanup.add_argument("--json", action="store_true", help="one JSON document on stdout")
    fsck = commands.add_parser(
        "fsck", help="check that stored objects and media rows agree; repair what is safe"
    )
    fsck.add_argument("--verify", action="store_true", help="also compare every SHA-256")
    fsck.add_argument(
        "--repair-missing", action="store_true", help="forget media whose object is gone"
    )
    fsck.add_argument(
        "--remeasure-videos", action="store_true",
        help="measure every video's length again; record it where the row's differs",
    )  # fmt: skip
    fsck.add_argument("--dry-run", action="store_true", help="report, change nothing")
    fsck.add_argument("--json", action="store_true", help="one JSON document on stdout")

    db = commands.add_parser("db", help="schema migrations").add_subparsers(
        dest="db_command", required=True
    )
    upgrade = db.add_parser("upgrade", help="migrate to a revision (default head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.add_argument(
        "--wait",
        type=_SECONDS,
        default=DATABASE_WAIT_SECONDS,
        metavar="SECONDS",
        help="seconds to wait for PostgreSQL to accept connections (default %(default)g; 0: once)",
    )
    downgrade = db.add_parser("downgrade", help="migrate down to a revision ('base': empty)")
    downgrade.add_argument("revision")
    db.add_parser("current", help="print the database's revision")
    db.add_parser("schema", help="print the normalised schema (see db/schema.expected)")
    return parser


# The status of a command whose reader went away (`editroom fsck --json | head`): the shell's
# for a program SIGPIPE ended, as `yes | head` leaves it, and none of ours (fsck's 1 is
# "something is left", 2 "could not start").
READER_GONE_STATUS = 128 + signal.SIGPIPE


def main(argv: Sequence[str] | None = None) -> int:
    """Every command, through one boundary for a reader that stops reading: Python ignores
    SIGPIPE, so a write to a closed pipe raises BrokenPipeError wherever the command printed;
    here, and not in each command, it becomes a quiet exit (the recipe of the `signal`
    module's "Note on SIGPIPE")."""
    try:
        try:
            return _command(argv)
        finally:
            sys.stdout.flush()  # what is still buffered fails here, not at interpreter exit
    except BrokenPipeError:
        # The interpreter flushes stdout again as it exits: give it somewhere to write.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return READER_GONE_STATUS


def _command(argv: Sequence[str] | None) -> int:
    try:
        settings = load_settings()
    except EditroomError as exc:
        print(f"editroom: {exc}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    configure_logging(settings.log_level)
    try:
        return _dispatch(args, settings)
    except EditroomError as exc:
        print(f"editroom: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        from service.supervisor import run_everything

        return run_everything(settings.model_copy(update={"port": args.port}))
    if args.command == "serve":
        writable_directory(settings.uploads_dir, variable=_dir_variable(settings, "upload_dir"))
        check_can_listen(args.host, args.port)
        return _serve(settings.model_copy(update={"host": args.host, "port": args.port}))
    if args.command == "runner":
        writable_directory(settings.edits_dir, variable=_dir_variable(settings, "work_dir"))
        import uvloop

        from runner.process.main import run_runner

        # uvloop (libuv): each of the loop's turns between a NOTIFY and the claim it sets off
        # costs less than asyncio's own loop (its sandbox children are other programs, run by
        # the forkserver: they inherit no loop).
        uvloop.run(run_runner(settings, concurrency=args.concurrency))
        return 0
    if args.command == "cleanup":
        report = asyncio.run(_cleanup(settings))
        print(json.dumps(report.as_json()) if args.json else report.summary())
        return 0
    if args.command == "fsck":
        return asyncio.run(_fsck(args, settings))
    return _db(args, settings.require_database_url())


def _dir_variable(settings: Settings, field: str) -> str:
    """The variable that placed a directory: its own, or EDITROOM_DATA_DIR's default."""
    return f"EDITROOM_{field.upper()}" if getattr(settings, field) else "EDITROOM_DATA_DIR"


async def _cleanup(settings: Settings) -> "CleanupReport":
    from service.domain.cleanup import clean_up
    from service.kernel.db import Database
    from service.kernel.storage.factory import open_storage

    async with Database.connect(
        settings.require_database_url(),
        max_size=2,
        open_timeout=settings.db_pool_open_timeout_seconds,
    ) as database:
        return await clean_up(database, await open_storage(settings), settings)


async def _fsck(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0: clean, or everything found was repaired; 1: something is left."""
    from service.domain.fsck import FsckOptions, fsck
    from service.kernel.db import Database
    from service.kernel.storage.factory import open_storage

    options = FsckOptions(
        verify=args.verify, repair_missing=args.repair_missing, dry_run=args.dry_run,
        remeasure_videos=args.remeasure_videos,
    )  # fmt: skip
    async with Database.connect(
        settings.require_database_url(),
        max_size=2,
        open_timeout=settings.db_pool_open_timeout_seconds,
    ) as database:
        storage = await open_storage(settings)
        # Only once it can check: a command that cannot start prints nothing on stdout.
        output = _JsonFindings() if args.json else _TextFindings()
        report = await fsck(database, storage, settings, options=options, on_finding=output.add)
    output.end(report)
    return 0 if report.clean else 1


class _TextFindings:
    def add(self, finding: "Finding") -> None:
        print(finding.line(), flush=True)

    def end(self, report: "FsckReport") -> None:
        print(report.summary())


class _JsonFindings:
    """One document, {"findings": [...], "summary": {...}}, written as findings come: a run
    cut short leaves no valid JSON, so nothing mistakes it for a result."""

    def __init__(self) -> None:
        self._separator = "\n  "
        print('{"findings": [', end="")

    def add(self, finding: "Finding") -> None:
        print(self._separator + json.dumps(finding.as_json()), end="", flush=True)
        self._separator = ",\n  "

    def end(self, report: "FsckReport") -> None:
        print(f'\n], "summary": {json.dumps(report.as_json())}}}')


def _serve(settings: Settings) -> int:
    from service.http.app import create_app
    from service.http.server import server

    server(create_app(settings)).run()
    return 0


def _db(args: argparse.Namespace, url: str) -> int:
    import psycopg
    import sqlalchemy.exc

    from service.kernel.db import unusable

    # A database that refuses us (a wrong password or name, a lock never granted) is one
    # line and status 2, like one that never answers: not a traceback and the 1 of a bug.
    try:
        return _db_command(args, url)
    except (psycopg.OperationalError, sqlalchemy.exc.OperationalError) as exc:
        raise unusable(url, getattr(exc, "orig", None) or exc) from exc


def _db_command(args: argparse.Namespace, url: str) -> int:
    import psycopg

    from service.kernel import migrations
    from service.kernel.schema_snapshot import snapshot

    if args.db_command == "upgrade":
        migrations.wait_for_database(url, timeout_seconds=args.wait)
        migrations.upgrade(url, args.revision)
    elif args.db_command == "downgrade":
        migrations.downgrade(url, args.revision)
    elif args.db_command == "current":
        print(migrations.current_revision(url) or "(empty database)")
    else:
        with psycopg.connect(url) as conn:
            print(snapshot(conn), end="")
    return 0
