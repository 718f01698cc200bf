"""A request's head (its line and headers) held to a size and a time while it is arriving.

uvicorn's httptools parser takes a head of any length: it joins each header's pieces as they
come (bytes added to bytes, so the work grows with the square of the length), all on the event
loop. One request of a 256 MiB header held every other request of the API for a minute of CPU
and took 500 MB. A URL over the 65,535 bytes httptools can parse was answered, once complete,
with a bare `Invalid HTTP request received.`

Here the bytes of a head are counted as they arrive, before the parser sees them: past
MAX_HEAD_BYTES the request is answered 431 and the connection closed, and a URL past
MAX_URL_BYTES is answered 414 as soon as it is, both with a JSON body naming the limit, as
every other refusal of the API.

uvicorn times a connection only between requests (EDITROOM_KEEPALIVE_SECONDS): one that never
sent a byte, or stopped in the middle of a head, was held for ever, each an open file of the
service's (a few thousand such connections and it can open no more: no upload, no database
connection). Here a connection that sends nothing is closed after the keep-alive, as an idle
one between requests is, and a head must be whole within HEAD_SECONDS of its first byte, else
a 408 answers it and the connection is closed.

A refused client may still be sending (most send their whole request before they read): a
socket closed with bytes still arriving is reset by the kernel, and the reset discards the
answer the client had not read yet. So the service closes as nginx's lingering close does:
once the answer is written it stops writing (a half close), reads and discards what still comes
for up to LINGER_SECONDS and LINGER_BYTES, and closes when the client does or at either bound.
A head pipelined while an earlier request of the connection is still being answered (an event
stream, a `?wait=`) is not answered: a refusal would be written into the other answer, and
that answer's writes after a half close raise (uvicorn logged each as an ASGI exception). The
connection is closed at once, the other answer's writes dropped as for a client gone."""

import asyncio
import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Far above any head a client sends (browsers' cookies and an edit's longest URL are tens of
# KiB), and above the most asyncio reads at once (256 KiB): a small head read with the start
# of its body is never mistaken for a large one.
MAX_HEAD_BYTES = 1_048_576
MAX_URL_BYTES = 65_535  # the longest URL httptools parses (its offsets are 16-bit)
HEAD_SECONDS = 30.0  # from a head's first byte to its end (nginx allows 60, Apache 20 to 40)
# How long and how much a refused client may go on sending while it is read and discarded
# (nginx lingers up to 30 s, 5 s between reads): enough for a client sending a request over
# the limit to finish and read the answer, bounded so the discarding costs little.
LINGER_SECONDS = 5.0
LINGER_BYTES = 16 * MAX_HEAD_BYTES


class URLTooLong(Exception):
    """Raised in the parser's URL callback; the parser's error then reaches send_400_response,
    which answers it as a 414."""


class BoundedHead(HttpToolsProtocol):
    # Bytes of the head being read; None while a body is (its bytes are the app's to bound).
    head_bytes: int | None = 0
    url_too_long = False
    head_timer: asyncio.TimerHandle | None = None  # while a head is awaited or arriving
    # Bytes read and discarded since a refusal was written; None: none was.
    discarded: int | None = None
    linger_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._time_head(self.timeout_keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self._untime_head()
        if self.linger_timer is not None:
            self.linger_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.discarded is not None:
            self._discard(data)
            return
        if self.head_bytes == 0:  # a head's first bytes
            self._time_head(HEAD_SECONDS)
        if self.head_bytes is not None:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEAD_BYTES:
                self._refuse(
                    431,
                    "RequestHeadTooLarge",
                    f"the request's line and headers are over {MAX_HEAD_BYTES:,} bytes",
                )
                return
        super().data_received(data)

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self.url_too_long = True
            raise URLTooLong

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._untime_head()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0

    def _time_head(self, seconds: float) -> None:
        self._untime_head()
        self.head_timer = self.loop.call_later(seconds, self._head_late)

    def _untime_head(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_late(self) -> None:
        """Nothing sent: closed without a word, as uvicorn closes an idle keep-alive. A head
        begun: 408."""
        self.head_timer = None
        if self.head_bytes == 0:
            self.transport.close()
        elif self.head_bytes is not None:
            detail = f"the request's line and headers did not all arrive within {HEAD_SECONDS:g} s"
            self._refuse(408, "RequestHeadTimeout", detail)

    def send_400_response(self, msg: str) -> None:
        if self.url_too_long:
            detail = f"the URL is over {MAX_URL_BYTES:,} bytes, the longest this server reads"
            self._refuse(414, "URLTooLong", detail)
        else:
            super().send_400_response(msg)

    def _refuse(self, status: int, error: str, detail: str) -> None:
        if self._answering():
            # A head pipelined behind a request still being answered (an event stream, a
            # ?wait= edit): a refusal written now would land inside that answer, and a half
            # close would make its next write raise. Closed at once: its writes are dropped.
            self.transport.close()
            return
        content = json.dumps({"detail": detail, "error": error}).encode()
        reason = {
            408: b"Request Timeout",
            414: b"URI Too Long",
            431: b"Request Header Fields Too Large",
        }[status]
        head = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(content),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + content)
        self._linger()

    def _answering(self) -> bool:
        """Whether an answer to an earlier request of the connection is still being written."""
        return self.cycle is not None and not self.cycle.response_complete

    def _linger(self) -> None:
        """Stop writing once the answer is sent, and read on (discarding) until the client
        closes or a bound is reached: see the module's docstring."""
        self._untime_head()
        self.discarded = 0
        if self.transport.can_write_eof():
            self.transport.write_eof()  # after what is written: the answer goes first
        self.linger_timer = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _discard(self, data: bytes) -> None:
        assert self.discarded is not None
        self.discarded += len(data)
        if self.discarded > LINGER_BYTES:
            self.transport.close()
