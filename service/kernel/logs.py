"""Structured logs in logfmt: `ts=... level=info logger=runner msg="..." edit_id=... kind=...`.

Pass fields with `extra={...}`; use the same keys as the metric labels (edit_id, kind, outcome).
"""

import logging
import os
import re
import time
from typing import Any

from service.kernel.excerpt import without_credentials

_STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's ANSI-coloured copy of msg
}
# Libraries whose info-level chatter says nothing an operator needs.
_QUIET_LOGGERS = ("pgserver", "alembic.runtime.plugins")
# SVT-AV1 prints banners ("Svt[info]: ...") straight to stderr unless told its level:
# 1 keeps its errors only. Children inherit the environment, so the sandbox's too.
_LIBRARY_LOG_ENVIRONMENT = {"SVT_LOG": "1"}


# A URL's user information ends in @ (%40 percent-encoded): a line without either has none
# to hide (e.g. an import's URL in the access log's path).
_MAY_HOLD_CREDENTIALS = re.compile(r"@|%40", re.IGNORECASE)
_NEEDS_QUOTES = re.compile(r'[ "=\n\t]')


def _quoted(value: Any) -> str:
    text = str(value)
    if text and _NEEDS_QUOTES.search(text) is None:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# A message is logged whole up to this: a request line is the client's to make long (an
# access line's path), and a log must not grow by whatever a request holds.
MAX_MESSAGE_CHARS = 4000


def _cut(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[:MAX_MESSAGE_CHARS]}… ({len(message) - MAX_MESSAGE_CHARS:,} more characters)"


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _cut(record.getMessage()),
        }
        fields.update(
            (key, value)
            for key, value in vars(record).items()
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
        )
        if record.exc_info:
            fields["error"] = self.formatException(record.exc_info)
        line = " ".join(f"{key}={_quoted(value)}" for key, value in fields.items())
        return without_credentials(line) if _MAY_HOLD_CREDENTIALS.search(line) else line


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(LogfmtFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for name, value in _LIBRARY_LOG_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
