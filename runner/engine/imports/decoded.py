"""Compressed answers held to the import's one byte limit once decoded too. The guard's
ByteBudget counts the bytes that arrive; a server that compresses its answer (Content-Encoding:
gzip or deflate) sends a few KiB that decode to GiB, and yt-dlp decodes whatever it asked for
(its media downloads ask for `identity`; a hostile server compresses anyway). Both of yt-dlp's
HTTP libraries decode: urllib a whole answer at once, in memory, before a byte of it is read;
requests (urllib3 2.6 or later) at most the size of each read, but a read with no size (a web
page) decodes the whole answer. So, while `held_to()` lasts, urllib's decoders stop at what the
limit leaves; a read with no size goes in pieces of at most that; and what each compressed
answer decodes to beyond the bytes it took from the network is charged to the same ByteBudget,
so that plain and compressed answers together are held to the one limit."""

import importlib
import weakref
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from yt_dlp.networking.common import Response
from yt_dlp.networking.exceptions import TransportError

from runner.engine.imports.guard import ByteBudget, ImportTooLarge

NOT_ENCODED = ("", "identity")
WHOLE_READ_PIECE_BYTES = 1024 * 1024  # what a read with no size decodes at a time, at most
# yt-dlp's urllib decoders: the handler's method, its Content-Encoding, and the zlib formats
# (window bits) it tries in turn. Its br decoder needs brotli, which editroom does not install.
URLLIB_DECODERS = (
    ("gz", "gzip", (zlib.MAX_WBITS | 16,)),
    ("deflate", "deflate", (-zlib.MAX_WBITS, zlib.MAX_WBITS)),  # raw, then with zlib's header
)


class DecodedBudget:
    """What compressed answers decode to, charged to the import's one limit, the guard's
    ByteBudget: the bytes an answer decodes to beyond those it took from the network (which the
    ByteBudget counted as they arrived), so that plain and compressed answers share the limit
    and an honest compressed answer counts once, as its decoded size."""

    def __init__(self, received: ByteBudget) -> None:
        self.received = received
        self.encoding = ""  # the Content-Encoding of the first compressed answer charged

    @property
    def exceeded(self) -> bool:
        """Past the limit, with a compressed answer counted in it."""
        return bool(self.encoding) and self.received.exceeded

    def room(self) -> int:
        return max(self.received.max_bytes - self.received.received, 0)

    def add(self, count: int, encoding: str) -> None:
        """Charges `count` more bytes (none if it is not positive); refuses past the limit."""
        if count > 0:
            self.encoding = self.encoding or encoding
            try:
                self.received.add(count)
            except ImportTooLarge:
                raise ImportTooLarge(self.message()) from None
        elif self.received.exceeded:
            raise ImportTooLarge(self.received.message())

    def message(self) -> str:
        return (
            f"the import was stopped at {self.received.max_bytes:,} bytes, its limit "
            f"(EDITROOM_IMPORT_MAX_BYTES), counting what the server's compressed answer "
            f"(Content-Encoding: {self.encoding or 'compressed'}) decompresses to"
        )


@contextmanager
def held_to(budget: DecodedBudget) -> Iterator[None]:
    """While it lasts, what compressed answers decode to is charged to `budget`."""
    urllib_library: Any = importlib.import_module("yt_dlp.networking._urllib")  # no stubs
    handler = urllib_library.HTTPHandler
    with ExitStack() as restore:
        for name, encoding, formats in URLLIB_DECODERS:
            decoder = staticmethod(_decoder(budget, encoding, formats))
            restore.enter_context(_replaced(handler, name, decoder))
        reads = _Reads(budget)
        for response_class in _response_classes(but=urllib_library.UrllibResponseAdapter):
            restore.enter_context(
                _replaced(response_class, "read", reads.counted(response_class.read))
            )
        yield


def _response_classes(*, but: type[Response]) -> list[type[Response]]:
    """yt-dlp's response classes that read for themselves (one per HTTP library it loaded), but
    urllib's, whose compressed answers its decoders (above) have charged already, whole."""
    found, pending = [], [Response]
    while pending:
        response_class = pending.pop()
        pending += response_class.__subclasses__()
        if "read" in response_class.__dict__ and response_class is not but:
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


class _Reads:
    """Reads of compressed answers, each charged as it returns: an answer's decoded bytes so
    far beyond those it took from the network (its raw body's count, urllib3's `tell()`), when
    that is more than was charged for it before."""

    def __init__(self, budget: DecodedBudget) -> None:
        self.budget = budget
        self._decoded: weakref.WeakKeyDictionary[Response, int] = weakref.WeakKeyDictionary()
        self._charged: weakref.WeakKeyDictionary[Response, int] = weakref.WeakKeyDictionary()

    def counted(self, read: Callable[..., bytes]) -> Callable[..., bytes]:
        def counted_read(response: Response, amt: int | None = None) -> bytes:
            encoding = str(response.headers.get("Content-Encoding") or "").strip().lower()
            if encoding in NOT_ENCODED:
                return read(response, amt)
            try:
                if amt is None:
                    return self._whole(read, response, encoding)
                return self._charge(read(response, amt), response, encoding)
            except ImportTooLarge as exc:  # as yt-dlp's own reads fail: a transport error
                response.close()
                raise TransportError(cause=exc) from exc

        return counted_read

    def _whole(self, read: Callable[..., bytes], response: Response, encoding: str) -> bytes:
        """A read with no size (a web page, a manifest) in pieces of at most what is left,
        each charged as it comes: requests would decode the whole answer before returning."""
        pieces = []
        while piece := read(response, min(WHOLE_READ_PIECE_BYTES, self.budget.room() + 1)):
            pieces.append(self._charge(piece, response, encoding))
        return b"".join(pieces)

    def _charge(self, data: bytes, response: Response, encoding: str) -> bytes:
        decoded = self._decoded[response] = self._decoded.get(response, 0) + len(data)
        beyond = decoded - _raw_bytes(response)
        charged = self._charged.get(response, 0)
        self._charged[response] = max(charged, beyond)
        self.budget.add(beyond - charged, encoding)
        return data


def _raw_bytes(response: Response) -> int:
    """The bytes of its body the answer took from the network (urllib3's count); none known
    for another library's, whose decoded bytes are then all charged."""
    tell = getattr(response.fp, "tell", None)
    return int(tell()) if callable(tell) else 0


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
    """`data`, already counted as received, decoded to at most what is left besides it."""
    inflater = zlib.decompressobj(wbits)
    allowed = budget.room() + len(data)
    decoded = inflater.decompress(data, allowed + 1)
    if len(decoded) <= allowed and not inflater.eof:  # as zlib.decompress says of a cut stream
        raise zlib.error("incomplete or truncated stream")
    budget.add(len(decoded) - len(data), encoding)
    return decoded
