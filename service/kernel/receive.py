"""Receiving an upload: the body (raw, or the `file` field of a multipart form) is streamed to
a temporary file while its SHA-256 is computed, and refused the moment it crosses the size
limit (every byte of the body counts, a form's other fields too). Memory stays flat however
large the file; on any failure the file is removed.

A client's body is bounded in time as well as size (`Pace`): no byte for a while, or too few
bytes in a while, ends it (408); every other request's body keeps the same pace (body_pace).
And how many bodies are received at once is bounded (`upload_slots`): past it, a 503 before a
byte is read or a file opened."""

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from service.kernel.errors import InvalidInput, TooLarge, UploadsBusy, UploadStalled
from service.kernel.settings import Settings
from service.kernel.slots import Slots
from service.kernel.wording import counted

if TYPE_CHECKING:  # the library defines its callback types for type checkers only
    from python_multipart.multipart import MultipartCallbacks

WRITE_BATCH_BYTES = 1024 * 1024
# Every temporary file in the uploads folder is named so (an upload's, fsck's copy of an
# object): remove_stale_files finds by it what a killed process left there.
TEMPORARY_PREFIX = "upload-"
FILE_FIELD = "file"
ACCEPTED_BODY = (
    f"a multipart/form-data body with the file in a field named {FILE_FIELD!r}, "
    "or the file's raw bytes as the body"
)


@dataclass(frozen=True, slots=True)
class Pace:
    """What a client's body must keep up: a byte at least every `idle_seconds`, and at least
    `min_bytes_per_second` on average over every `idle_seconds` (0: no floor)."""

    idle_seconds: float
    min_bytes_per_second: int
    body: str = "the upload"  # what a refusal names

    def message(self, received: int, *, idle: bool) -> str:
        names = "EDITROOM_UPLOAD_IDLE_SECONDS"
        if idle:
            what = f"no byte of {self.body} arrived for {self.idle_seconds:g} s"
        else:
            what = (
                f"{self.body} sent {received:,} bytes in {self.idle_seconds:g} s, below the "
                f"minimum of {self.min_bytes_per_second:,} bytes per second"
            )
            names += ", EDITROOM_UPLOAD_MIN_BYTES_PER_SECOND"
        return f"{what} ({names}); {self.body} was dropped: send it again, steadily"


def upload_pace(settings: Settings) -> Pace:
    return Pace(settings.upload_idle_seconds, settings.upload_min_bytes_per_second)


def body_pace(settings: Settings) -> Pace:
    """Any other request's body (JSON, at most EDITROOM_MAX_JSON_BYTES) keeps an upload's pace."""
    return Pace(
        settings.upload_idle_seconds, settings.upload_min_bytes_per_second,
        body="the request body",
    )  # fmt: skip


def upload_slots(limit: int) -> Slots:
    """Uploads being received (and checked) at once, at most `limit`: each holds a temporary
    file and its descriptors while its body arrives, however slowly."""

    def refusal(limit: int) -> UploadsBusy:
        return UploadsBusy(
            f"this server is receiving {counted(limit, 'upload')} already, the most at once "
            f"(EDITROOM_MAX_CONCURRENT_UPLOADS); try again in "
            f"{UploadsBusy.retry_after_seconds} s"
        )

    return Slots(limit, refusal=refusal)


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    path: Path
    size_bytes: int
    sha256: str
    filename: str | None


class _Sink:
    """A temporary file that hashes and counts what it is given."""

    def __init__(self, directory: Path, *, max_bytes: int, limit_name: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{TEMPORARY_PREFIX}{uuid4()}"
        self._file = self.path.open("wb")
        self._hash = hashlib.sha256()
        self._pending = bytearray()
        self._max_bytes = max_bytes
        self._limit_name = limit_name
        self.size_bytes = 0

    async def add(self, data: bytes) -> None:
        self.size_bytes += len(data)
        if self.size_bytes > self._max_bytes:
            raise TooLarge(too_large_message(self._max_bytes, self._limit_name))
        self._pending += data
        if len(self._pending) >= WRITE_BATCH_BYTES:
            await self.flush()

    async def flush(self) -> None:
        batch, self._pending = bytes(self._pending), bytearray()
        if batch:
            # hashlib and file writes release the GIL: a thread keeps the loop free.
            await asyncio.to_thread(self._write, batch)

    def _write(self, batch: bytes) -> None:
        self._hash.update(batch)
        self._file.write(batch)

    async def finish(self, filename: str | None) -> ReceivedFile:
        await self.flush()
        self._file.close()
        return ReceivedFile(self.path, self.size_bytes, self._hash.hexdigest(), filename)

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


UPLOAD_LIMIT = "EDITROOM_MAX_UPLOAD_BYTES"


def too_large_message(max_bytes: int, limit_name: str = UPLOAD_LIMIT) -> str:
    """`limit_name` says where the limit comes from: the setting, or a presigned upload's
    declared size."""
    return f"the upload is larger than {max_bytes:,} bytes ({limit_name})"


def check_declared_length(headers: Any, *, max_bytes: int, limit_name: str = UPLOAD_LIMIT) -> None:
    """Refuse before reading a byte when the client says the body is too large."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(too_large_message(max_bytes, limit_name))


async def receive(
    chunks: AsyncIterator[bytes],
    *,
    content_type: str,
    directory: Path,
    max_bytes: int,
    filename: str | None = None,
    limit_name: str = UPLOAD_LIMIT,
    pace: Pace | None = None,
) -> ReceivedFile:
    """Stream the body into a file under `directory`; raw, or multipart's `file` field. With
    `pace`, a client's body that stalls or trickles is dropped (UploadStalled)."""
    if pace is not None:
        chunks = paced(chunks, pace)
    sink = _Sink(directory, max_bytes=max_bytes, limit_name=limit_name)
    try:
        kind, options = parse_options_header(content_type)
        if kind == b"multipart/form-data":
            filename = await _receive_multipart(
                _counted(chunks, max_bytes=max_bytes), sink, options.get(b"boundary")
            )
        else:
            async for chunk in chunks:
                await sink.add(chunk)
        if sink.size_bytes == 0:
            raise InvalidInput(f"the upload is empty; accepted: {ACCEPTED_BODY}")
        return await sink.finish(filename)
    except BaseException:
        sink.discard()
        raise


async def paced(chunks: AsyncIterator[bytes], pace: Pace) -> AsyncIterator[bytes]:
    """The chunks, while they keep `pace`. The next chunk is awaited in a task of its own, not
    under a timeout: cancelling the read would end the request's stream for good."""
    loop = asyncio.get_running_loop()
    iterator = aiter(chunks)
    last_byte, window_bytes = loop.time(), 0
    window_end = last_byte + pace.idle_seconds
    while True:
        reading = asyncio.ensure_future(anext(iterator))
        try:
            while not reading.done():
                deadline = min(window_end, last_byte + pace.idle_seconds)
                await asyncio.wait([reading], timeout=max(deadline - loop.time(), 0))
                if reading.done():
                    break
                now = loop.time()
                idle = now >= last_byte + pace.idle_seconds
                if idle or window_bytes < pace.min_bytes_per_second * pace.idle_seconds:
                    raise UploadStalled(pace.message(window_bytes, idle=idle))
                window_end, window_bytes = now + pace.idle_seconds, 0
        finally:
            reading.cancel()  # a no-op once it is done
        try:
            chunk = reading.result()
        except StopAsyncIteration:
            return
        last_byte = loop.time()
        window_bytes += len(chunk)
        yield chunk


async def _counted(chunks: AsyncIterator[bytes], *, max_bytes: int) -> AsyncIterator[bytes]:
    """Every byte of the body counts against the limit, not only the file's: a form's other
    fields, headers and boundaries are bytes received too."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise TooLarge(too_large_message(max_bytes))
        yield chunk


async def _receive_multipart(
    chunks: AsyncIterator[bytes], sink: _Sink, boundary: bytes | None
) -> str | None:
    if not boundary:
        raise InvalidInput(f"multipart/form-data without a boundary; accepted: {ACCEPTED_BODY}")
    form = _FormReader()
    try:
        parser = MultipartParser(boundary, form.callbacks())
        async for chunk in chunks:
            parser.write(chunk)
            for data in form.take_file_data():
                await sink.add(data)
        parser.finalize()
    except FormParserError as exc:
        raise InvalidInput(
            f"the multipart body is malformed ({exc}); accepted: {ACCEPTED_BODY}"
        ) from None
    for data in form.take_file_data():
        await sink.add(data)
    if parser.state != MultipartState.END:
        raise InvalidInput(
            f"the multipart body ends before its closing boundary; accepted: {ACCEPTED_BODY}"
        )
    if form.files == 0:
        raise InvalidInput(
            f"the multipart form has no field named {FILE_FIELD!r}; accepted: {ACCEPTED_BODY}"
        )
    return form.filename


class _FormReader:
    """Follows the parser's callbacks; keeps the `file` field's bytes, ignores other fields."""

    def __init__(self) -> None:
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""
        self._in_file = False
        self._data: list[bytes] = []
        self.files = 0
        self.filename: str | None = None

    def callbacks(self) -> "MultipartCallbacks":
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._header_field(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": lambda data, start, end: self._part_data(data[start:end]),
        }

    def take_file_data(self) -> list[bytes]:
        data, self._data = self._data, []
        return data

    def _part_begin(self) -> None:
        self._headers, self._field, self._value, self._in_file = {}, b"", b"", False

    # A header's name and value each come in as many pieces as the network split them into
    # (python_multipart bounds a header's size: "Maximum header size exceeded").
    def _header_field(self, data: bytes) -> None:
        self._field += data

    def _header_value(self, data: bytes) -> None:
        self._value += data

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") != FILE_FIELD.encode():
            return
        self.files += 1
        if self.files > 1:
            raise InvalidInput(
                f"the form has several {FILE_FIELD!r} fields; accepted: one file per upload"
            )
        self._in_file = True
        raw_name = options.get(b"filename")
        self.filename = raw_name.decode("utf-8", "replace") if raw_name else None

    def _part_data(self, data: bytes) -> None:
        if self._in_file:
            self._data.append(bytes(data))


def remove_stale_files(
    directory: Path, *, older_than_seconds: float, now: float
) -> tuple[int, int]:
    """Temporary files a crash left behind: how many were removed, and their bytes."""
    removed = removed_bytes = 0
    for path in directory.glob(f"{TEMPORARY_PREFIX}*") if directory.is_dir() else ():
        found = path.stat()
        if now - found.st_mtime > older_than_seconds:
            path.unlink(missing_ok=True)
            removed += 1
            removed_bytes += found.st_size
    return removed, removed_bytes


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file already on disk, read in chunks (run it in a thread)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(WRITE_BATCH_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
