"""What a claimed edit does: fetch its media, run the pipeline of its kind in a sandboxed child
(time- and memory-limited, killed on cancel), store what it produced, and return it as new
media that name the edit and the source: their rows are added with the edit's completion."""

from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import ValidationError

from runner.engine.imports.download import import_url
from runner.engine.imports.guard import ImportPolicy
from runner.engine.imports.request import ImportRequest, is_import
from runner.engine.jobs import ProducedFile, run_edit
from runner.engine.ops.base import Limits, MediaKind, Operation, known_seconds
from runner.engine.ops.catalogue import catalogue
from runner.engine.ops.language import parse_json
from runner.engine.ops.noop import ImageNoop
from runner.engine.sandbox import Report, Sandbox
from runner.process.completer import Outputs
from runner.process.metrics import UNKNOWN_KIND
from service.domain.library import MediaLibrary, NewMedia, clean_filename
from service.domain.scratch import ScratchFolders
from service.kernel.db import Row
from service.kernel.errors import EditFailed, NotFound
from service.kernel.receive import ReceivedFile
from service.kernel.settings import Settings

ReportProgress = Report
OUT = "out"  # the attempt's results, in its scratch folder
# An edit's results: media already in the library, or stored ones whose rows come with the
# edit's completion (runner/process/completer.py).
Execute = Callable[["ClaimedEdit", ReportProgress], Awaitable[Outputs]]


@dataclass(frozen=True, slots=True)
class ClaimedEdit:
    id: UUID
    media_id: UUID | None
    ops: list[dict[str, Any]]
    trial: int
    max_trials: int
    kind: str = UNKNOWN_KIND  # its media's, for logs and metrics
    source: Row | None = None  # its media's row as claimed (JSON types), if it still existed

    @classmethod
    def from_row(cls, row: Row) -> "ClaimedEdit":
        return cls(
            id=row["id"],
            media_id=row["media_id"],
            ops=row["ops"],
            trial=row["trial"],
            max_trials=row["max_trials"],
            kind=row.get("kind") or UNKNOWN_KIND,
            source=row.get("source"),
        )


class EditExecutor:
    def __init__(self, *, library: MediaLibrary, sandbox: Sandbox, settings: Settings) -> None:
        self._library = library
        self._sandbox = sandbox
        self._settings = settings
        self._limits = Limits.from_settings(settings)
        self._policy = ImportPolicy.from_settings(settings)
        self._folders = ScratchFolders(settings.edits_dir, keep=(OUT,))

    def close(self) -> None:
        """Remove the scratch folders kept for later attempts."""
        self._folders.close()

    async def __call__(self, edit: ClaimedEdit, report: ReportProgress) -> list[NewMedia]:
        # [] is a valid no-op edit in SQL (it exercises the queue; the API asks for more). It
        # reads nothing, so it costs no look-up of its media: the queue's own pace shows.
        if not edit.ops:
            report(1.0)
            return []
        if edit.media_id is None and is_import(edit.ops):
            return await self._import(edit, report)
        source = await self._source(edit)
        kind = MediaKind(source["kind"])
        operations = parse_json(catalogue(), kind, edit.ops, limits=self._limits)
        if all(op.name == ImageNoop.name for op in operations):
            report(1.0)
            return []
        others = [
            await self._media(ref, op.name) for op in operations for ref in op.media_references()
        ]
        with self._scratch("edit", edit) as work:
            produced = await self._run(edit, operations, source, others, work, report)
            names = output_names(
                source["original_name"], [Path(file.path).suffix for file in produced]
            )
            return [
                await self._store(file, name, edit=edit, source=source)
                for file, name in zip(produced, names, strict=True)
            ]

    async def _run(
        self,
        edit: ClaimedEdit,
        operations: list[Operation],
        source: Row,
        others: list[Row],
        work: Path,
        report: ReportProgress,
    ) -> list[ProducedFile]:
        local = {str(row["id"]): str(await self._local(row, work)) for row in [source, *others]}
        inputs = {str(row["id"]): local[str(row["id"])] for row in others}
        timeout = edit_time_limit_seconds(self._settings, [source, *others])
        timed_out = (
            f"the edit ran past its time limit of {timeout:.0f} s (EDITROOM_EDIT_TIMEOUT_SECONDS, "
            "plus EDITROOM_EDIT_SECONDS_PER_VIDEO_SECOND per second of video)"
        )
        return await self._sandbox.run(
            run_edit, source["kind"], local[str(source["id"])], operations,
            str(work / OUT), self._limits, inputs, recorded_durations([source, *others], local),
            timeout_seconds=timeout, timed_out=timed_out, on_progress=report,
        )  # fmt: skip

    async def _import(self, edit: ClaimedEdit, report: ReportProgress) -> list[NewMedia]:
        try:
            request = ImportRequest.model_validate(edit.ops[0])
        except ValidationError as exc:
            raise EditFailed(f"the import is malformed: {exc}".splitlines()[0]) from None
        options = {
            "max_bytes": self._settings.import_max_bytes,
            "socket_timeout": self._settings.import_socket_timeout_seconds,
            "min_bytes_per_second": self._settings.import_min_bytes_per_second,
            "rate_window_seconds": self._settings.import_rate_window_seconds,
            "max_frame_pixels": self._settings.max_frame_pixels,
        }
        timeout = self._settings.import_timeout_seconds
        timed_out = (
            f"the import ran past its time limit of {timeout:.0f} s "
            "(EDITROOM_IMPORT_TIMEOUT_SECONDS)"
        )
        with self._scratch("import", edit) as work:
            (produced,) = await self._sandbox.run(
                import_url, request, str(work / OUT), self._policy, self._limits,
                options, timeout_seconds=timeout, timed_out=timed_out, on_progress=report,
            )  # fmt: skip
            name = _import_name(request.url, produced)
            return [await self._store(produced, name, edit=edit, source=None)]

    def _scratch(self, prefix: str, edit: ClaimedEdit) -> AbstractContextManager[Path]:
        """Named after the attempt, so that the one left by a killed runner can be told."""
        return self._folders.attempt(prefix=prefix, edit_id=edit.id, trial=edit.trial)

    async def _source(self, edit: ClaimedEdit) -> Row:
        if edit.media_id is None:
            raise EditFailed("the edit's media was deleted; there is nothing to edit")
        if edit.source is not None:  # read with the claim: no second look-up
            return {**edit.source, "id": edit.media_id}
        return await self._media(edit.media_id, "the source")

    async def _media(self, media_id: UUID, role: str) -> Row:
        try:
            return await self._library.get(media_id)
        except NotFound:
            raise EditFailed(f"{role} media {media_id} no longer exists") from None

    async def _local(self, media: Row, work: Path) -> Path:
        """The media as a local file: read in place from a local bucket, else fetched."""
        in_place = self._library.storage.local_path(media["storage_key"])
        if in_place is not None:
            return in_place
        target = work / f"in-{media['id']}"
        await self._library.storage.get_file(media["storage_key"], target)
        return target

    async def _store(
        self, file: ProducedFile, name: str | None, *, edit: ClaimedEdit, source: Row | None
    ) -> NewMedia:
        received = ReceivedFile(Path(file.path), file.size_bytes, file.sha256, name)
        return await self._library.store_result(
            received,
            facts=file.facts,
            source_edit_id=edit.id,
            source_media_id=None if source is None else source["id"],
            source_seconds=file.source_seconds,
        )


def edit_time_limit_seconds(settings: Settings, media: Iterable[Row]) -> float:
    """An edit's time limit: the base limit, plus the per-second part for every second of
    video it reads (its source and what it concatenates), up to max_video_seconds in all: no
    result may be longer (make_plan refuses it), and a video of unknown length counts as that
    much once, however often the edit names it (concat=Z,Z,Z of one media). Summed without a
    cap, each reference of such a media added the longest video allowed: 20 h per attempt for
    the default limits. Images (no duration) add nothing, so the base is also the floor."""
    read = sum(_seconds_to_read(settings, row) for row in media)
    seconds_of_video = min(read, settings.max_video_seconds)
    return settings.edit_timeout_seconds + settings.edit_seconds_per_video_second * seconds_of_video


def _seconds_to_read(settings: Settings, row: Row) -> float:
    """A video whose row knows no length (a 0 s recorded before it counted as none:
    known_seconds) counts as the longest its upload let its data play, max_video_seconds:
    counted as 0 s, a long one ran out of time before its edit could measure it."""
    if row["kind"] != MediaKind.VIDEO:
        return 0.0
    known = known_seconds(row["duration_seconds"])
    return settings.max_video_seconds if known is None else known


def recorded_durations(media: Iterable[Row], local: Mapping[str, str]) -> dict[str, float]:
    """Each video's duration as its row records it, by its local file (`local`, by id): of one
    whose header declares none, the upload measured it by reading every packet, and the edit
    takes it rather than read them all again (runner.engine.video.probe)."""
    known = {str(row["id"]): known_seconds(row["duration_seconds"]) for row in media}
    return {local[media_id]: float(seconds) for media_id, seconds in known.items() if seconds}


def output_names(source_name: str | None, suffixes: list[str]) -> list[str | None]:
    """holiday.jpg edited to WebP: holiday-edited.webp; several stills: holiday-01.jpg, ...
    An edit of an edit's output is named from the same stem: holiday-edited.webp edited
    again is holiday-edited.png, not holiday-edited-edited.png (a session's tenth step)."""
    stem = Path(source_name or "media").stem.removesuffix("-edited") or "media"
    if len(suffixes) == 1:
        return [clean_filename(f"{stem}-edited{suffixes[0]}")]
    return [clean_filename(f"{stem}-{i:02d}{suffix}") for i, suffix in enumerate(suffixes, 1)]


def _import_name(url: str, produced: ProducedFile) -> str | None:
    """The last part of the URL's path, with the imported file's extension."""
    stem = Path(urlsplit(url).path).stem or urlsplit(url).hostname or "import"
    return clean_filename(f"{stem}{Path(produced.path).suffix}")
