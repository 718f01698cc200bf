"""HTTP Range requests (RFC 9110 §14) for media content: one byte range, or the whole; and
the conditions that go with them (§13): If-None-Match, If-Range. Content is named by a strong
ETag (its SHA-256) and sent with no Last-Modified."""

import re
from dataclasses import dataclass

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Digits of a byte position, leading zeros aside, beyond which it lies past the end of any
# content: a longer one is read as PAST_ANY_END (int() would raise past 4300 digits).
MAX_POSITION_DIGITS = 19
PAST_ANY_END = 10**MAX_POSITION_DIGITS


class Unsatisfiable(Exception):
    """The range lies wholly outside the content (answer 416)."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range asked for, or None for the whole content. Malformed or multi-range
    headers are ignored (the whole content is a valid answer to them)."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the final N bytes
        suffix = _position(last)
        if suffix == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    if start >= size:
        raise Unsatisfiable
    end = min(_position(last), size - 1) if last else size - 1
    if end < start:
        return None
    return ByteRange(start, end)


def _position(digits: str) -> int:
    """A byte position as written; one too long for any content is PAST_ANY_END."""
    return int(digits) if len(digits.lstrip("0")) <= MAX_POSITION_DIGITS else PAST_ANY_END


def none_match(header: str | None, etag: str) -> bool:
    """Whether If-None-Match says the client holds this content (answer 304): `*`, or `etag`
    among the entity tags it lists (weak comparison, as §13.1.2 asks for GET)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    return any(_opaque(tag) == _opaque(etag) for tag in header.split(","))


def range_applies(if_range: str | None, etag: str) -> bool:
    """Whether a Range header is to be honoured: without If-Range, yes; with one, only when it
    names this content's strong ETag exactly (§13.1.5). A date cannot match: no Last-Modified
    is sent. Otherwise the whole content is the answer."""
    return if_range is None or if_range.strip() == etag


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")
