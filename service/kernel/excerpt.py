"""What error bodies, messages and logs show of what a client sent: a short excerpt, and URLs
without their user names and passwords."""

import json
import re
from collections.abc import Iterator

EXCERPT_CHARS = 200
# A character is at most 4 bytes of UTF-8: so many bytes decode to as many characters as shown.
_UTF8_BYTES_PER_CHAR = 4
# The user-information part of a URL (`//user:password@`), written plainly or percent-encoded
# as a query string carries it (`%3A%2F%2Fuser%3Apassword%40`): after the scheme's separator,
# up to the last @ (%40) before the authority ends.
_SCHEME_SEPARATOR = re.compile(r"://|%3A%2F%2F", re.IGNORECASE)
_AUTHORITY_END = re.compile(r"[/?#&\s]")


def excerpt(value: object) -> str:
    """At most EXCERPT_CHARS characters of the value, with an ellipsis when cut: a huge input
    is named, never echoed back whole, nor read whole to be shown (see `rendered`)."""
    text = "" if value is None else rendered(value, most=EXCERPT_CHARS + 1)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def rendered(value: object, *, most: int) -> str:
    """The first `most` characters of `value` as a refusal shows it: text as it is, bytes
    decoded (a bad byte as U+FFFD), anything else as JSON (a value JSON has no type for, a
    UUID say, as its str in quotes). Only what is shown is decoded or serialised: a
    megabyte's list, or a list nested a thousand deep, costs what `most` characters do."""
    if isinstance(value, str):
        return value[:most]
    if isinstance(value, bytes | bytearray):
        return bytes(value[: most * _UTF8_BYTES_PER_CHAR]).decode(errors="replace")[:most]
    pieces: list[str] = []
    length = 0
    for piece in _json_pieces(value, most=most):
        pieces.append(piece)
        length += len(piece)
        if length >= most:
            break
    return "".join(pieces)[:most]


def _json_pieces(value: object, *, most: int) -> Iterator[str]:
    """`value` as JSON, lazily, each piece at most about `most` characters (a string is cut
    before it is quoted: its closing quote falls past what is shown)."""
    if isinstance(value, str):
        yield json.dumps(value[:most], ensure_ascii=False)
    elif value is None or isinstance(value, bool | int | float):
        yield json.dumps(value)
    elif isinstance(value, list | tuple):
        yield from _json_array(value, most=most)
    elif isinstance(value, dict):
        yield from _json_object(value, most=most)
    else:
        yield from _json_pieces(str(value), most=most)


def _json_array(items: list[object] | tuple[object, ...], *, most: int) -> Iterator[str]:
    yield "["
    for index, item in enumerate(items):
        yield ", " if index else ""
        yield from _json_pieces(item, most=most)
    yield "]"


def _json_object(members: dict[object, object], *, most: int) -> Iterator[str]:
    yield "{"
    for index, (key, item) in enumerate(members.items()):
        yield ", " if index else ""
        yield from _json_pieces(str(key), most=most)
        yield ": "
        yield from _json_pieces(item, most=most)
    yield "}"


def without_credentials(text: str) -> str:
    """`text` with the user name and password of every URL in it replaced by `***`.

    Each character is read once, whatever the text: a request line is hostile, and a regular
    expression matching from each `%3A%2F%2F` to the end of a line of them, as one did, costs
    the square of its length (a 60 KB request line held the event loop for seconds)."""
    shown: list[str] = []
    position = 0
    while separator := _SCHEME_SEPARATOR.search(text, position):
        start = separator.end()
        authority_end = _AUTHORITY_END.search(text, start)
        end = len(text) if authority_end is None else authority_end.start()
        at = max(text.rfind("@", start, end), text.rfind("%40", start, end))
        if at > start:
            shown.append(text[position:start] + "***")
            position = at
        else:
            shown.append(text[position:end])
            position = end
    shown.append(text[position:])
    return "".join(shown)
