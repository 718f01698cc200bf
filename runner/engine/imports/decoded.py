"""Compressed answers held to the import's byte limit once decoded too. The guard's ByteBudget
counts the bytes that arrive; a server that compresses its answer (Content-Encoding: gzip or
deflate) sends a few KiB that decode to GiB, and yt-dlp decodes whatever it asked for (its media
downloads ask for `identity`; a hostile server compresses anyway). Both of yt-dlp's HTTP
libraries decode: urllib a whole answer at once, in memory, before a byte of it is read;
requests (urllib3) piece by piece as it is read. So, while `held_to()` lasts, urllib's decoders
stop at what the limit leaves, and every read of a compressed answer, in any of yt-dlp's
response classes, is counted."""

import importlib
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from yt_dlp.networking.common import Response
from yt_dlp.networking.exceptions import TransportError

from runner.engine.imports.guard import ImportTooLarge

NOT_ENCODED = ("", "identity")
WHOLE_READ_PIECE_BYTES = 1024 * 1024  # what a read with no size decodes at a time, at most
# yt-dlp's urllib decoders: the handler's method, its Content-Encoding, and the zlib formats
# (window bits) it tries in turn. Its br decoder needs brotli, which editroom does not install.
URLLIB_DECODERS = (
    ("gz", "gzip", (zlib.MAX_WBITS | 16,)),
    ("deflate", "deflate", (-zlib.MAX_WBITS, zlib.MAX_WBITS)),  # raw, then with zlib's header
)


class DecodedBudget:
    """The bytes compressed answers decode to, every answer of the import together, against
    the same limit as the bytes received."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.decoded = 0
        self.encoding = ""  # the Content-Encoding of the answer that went past the limit
        self._lock = threading.Lock()  # fragment downloads may read from several threads

    @property
    def exceeded(self) -> bool:
        return self.decoded > self.max_bytes

    def room(self) -> int:
        return max(self.max_bytes - self.decoded, 0)

    def add(self, count: int, encoding: str) -> None:
        with self._lock:
            self.decoded += count
        self.check(encoding)

    def check(self, encoding: str, *, decoding: int = 0) -> None:
        """Refuses once past the limit, or when an answer alone decodes to more than is left."""
        if self.exceeded or decoding > self.room():
            self.encoding = self.encoding or encoding
            self.decoded = max(self.decoded, self.max_bytes + 1)
            raise ImportTooLarge(self.message())

    def message(self) -> str:
        return (
            f"the import was stopped at {self.max_bytes:,} bytes, its limit "
            f"(EDITROOM_IMPORT_MAX_BYTES), counting what the server's compressed answer "
            f"(Content-Encoding: {self.encoding or 'compressed'}) decompresses to"
        )


@contextmanager
def held_to(budget: DecodedBudget) -> Iterator[None]:
    """While it lasts, what compressed answers decode to is counted against `budget`."""
    handler: Any = importlib.import_module("yt_dlp.networking._urllib").HTTPHandler  # no stubs
    with ExitStack() as restore:
        for name, encoding, formats in URLLIB_DECODERS:
            decoder = staticmethod(_decoder(budget, encoding, formats))
            restore.enter_context(_replaced(handler, name, decoder))
        for response_class in _response_classes():
            restore.enter_context(
                _replaced(response_class, "read", _counted_read(response_class.read, budget))
            )
        yield


def _response_classes() -> list[type[Response]]:
    """yt-dlp's response classes that read for themselves (one per HTTP library it loaded)."""
    found, pending = [], [Response]
    while pending:
        response_class = pending.pop()
        pending += response_class.__subclasses__()
        if "read" in response_class.__dict__:
            found.append(response_class)
    return found


@contextmanager
def _replaced(owner: Any, name: str, replacement: Any) -> Iterator[None]:
    original = owner.__dict__[name]
    setattr(owner, name, replacement)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _counted_read(read: Callable[..., bytes], budget: DecodedBudget) -> Callable[..., bytes]:
    def counted_read(response: Response, amt: int | None = None) -> bytes:
        encoding = str(response.headers.get("Content-Encoding") or "").strip().lower()
        if encoding in NOT_ENCODED:
            return read(response, amt)
        try:
            if amt is None:
                return _read_whole(read, response, budget, encoding)
            return _counted(read(response, amt), budget, encoding)
        except ImportTooLarge as exc:  # as yt-dlp's own reads fail: a transport error
            response.close()
            raise TransportError(cause=exc) from exc

    return counted_read


def _read_whole(
    read: Callable[..., bytes], response: Response, budget: DecodedBudget, encoding: str
) -> bytes:
    """A read with no size (a web page, a manifest) in pieces of at most what is left, each
    counted as it comes: requests would decode the whole answer before returning any of it."""
    pieces = []
    while piece := read(response, min(WHOLE_READ_PIECE_BYTES, budget.room() + 1)):
        pieces.append(_counted(piece, budget, encoding))
    return b"".join(pieces)


def _counted(data: bytes, budget: DecodedBudget, encoding: str) -> bytes:
    budget.add(len(data), encoding)
    return data


def _decoder(budget: DecodedBudget, encoding: str, formats: tuple[int, ...]) -> Callable[..., Any]:
    """yt-dlp's decoder for `encoding`: the first of zlib's `formats` (window bits) that reads
    the data, one stream of it (as yt-dlp's: junk after it is ignored), at most what is left."""

    def decode(data: bytes) -> bytes:
        if not data:
            return data
        for wbits in formats[:-1]:
            try:
                return _inflate(data, wbits, budget, encoding)
            except zlib.error:
                pass
        return _inflate(data, formats[-1], budget, encoding)

    return decode


def _inflate(data: bytes, wbits: int, budget: DecodedBudget, encoding: str) -> bytes:
    inflater = zlib.decompressobj(wbits)
    room = budget.room()
    decoded = inflater.decompress(data, room + 1)
    budget.check(encoding, decoding=len(decoded))
    if not inflater.eof:  # as zlib.decompress, which yt-dlp calls, says of a cut stream
        raise zlib.error("incomplete or truncated stream")
    return decoded
