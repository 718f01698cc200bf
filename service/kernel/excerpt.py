"""What error bodies, messages and logs show of what a client sent: a short excerpt, and URLs
without their user names and passwords."""

import re

EXCERPT_CHARS = 200
# The user-information part of a URL (`//user:password@`), written plainly or percent-encoded
# as a query string carries it (`%3A%2F%2Fuser%3Apassword%40`).
_CREDENTIALS = re.compile(r"(?i)(://|%3A%2F%2F)[^/?#&\s@]+(@|%40)")


def excerpt(value: object) -> str:
    """At most EXCERPT_CHARS characters of the value, with an ellipsis when cut: a huge input
    is named, never echoed back whole."""
    text = "" if value is None else str(value)
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"


def without_credentials(text: str) -> str:
    """`text` with the user name and password of every URL in it replaced by `***`."""
    return _CREDENTIALS.sub(r"\1***\2", text)
