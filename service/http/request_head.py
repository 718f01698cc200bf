"""A request's head (its line and headers) held to a size while it is still arriving.

uvicorn's httptools parser takes a head of any length: it joins each header's pieces as they
come (bytes added to bytes, so the work grows with the square of the length), all on the event
loop. One request of a 256 MiB header held every other request of the API for a minute of CPU
and took 500 MB. A URL over the 65,535 bytes httptools can parse was answered, once complete,
with a bare `Invalid HTTP request received.`

Here the bytes of a head are counted as they arrive, before the parser sees them: past
MAX_HEAD_BYTES the request is answered 431 and the connection closed, and a URL past
MAX_URL_BYTES is answered 414 as soon as it is, both with a JSON body naming the limit, as
every other refusal of the API."""

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Far above any head a client sends (browsers' cookies and an edit's longest URL are tens of
# KiB), and above the most asyncio reads at once (256 KiB): a small head read with the start
# of its body is never mistaken for a large one.
MAX_HEAD_BYTES = 1_048_576
MAX_URL_BYTES = 65_535  # the longest URL httptools parses (its offsets are 16-bit)


class URLTooLong(Exception):
    """Raised in the parser's URL callback; the parser's error then reaches send_400_response,
    which answers it as a 414."""


class BoundedHead(HttpToolsProtocol):
    # Bytes of the head being read; None while a body is (its bytes are the app's to bound).
    head_bytes: int | None = 0
    url_too_long = False

    def data_received(self, data: bytes) -> None:
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
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0

    def send_400_response(self, msg: str) -> None:
        if self.url_too_long:
            detail = f"the URL is over {MAX_URL_BYTES:,} bytes, the longest this server reads"
            self._refuse(414, "URLTooLong", detail)
        else:
            super().send_400_response(msg)

    def _refuse(self, status: int, error: str, detail: str) -> None:
        content = json.dumps({"detail": detail, "error": error}).encode()
        reason = {414: b"URI Too Long", 431: b"Request Header Fields Too Large"}[status]
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
        self.transport.close()
