"""The checks of settings whose form a type cannot say (service/kernel/settings.py runs them):
each takes the value, returns it (normalised) or raises ValueError saying what is accepted."""

import ipaddress
import logging
import re
from urllib.parse import SplitResult, urlsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict

# A Host header's name (or [IPv6]) and optional port, as the API matches them.
_HOST_ENTRY = re.compile(r"(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:\d{1,5})?", re.IGNORECASE)


def host_names(value: str) -> str:
    for entry in _listed(value):
        if entry != "*" and not _HOST_ENTRY.fullmatch(entry):
            raise ValueError(f"{entry!r} is not a host name with an optional :port")
    return value


def origins(value: str) -> str:
    for entry in _listed(value):
        parts = urlsplit(entry)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{entry!r} is not an origin like https://ui.example")
    return value


def networks(value: str) -> str:
    for entry in _listed(value):
        try:
            ipaddress.ip_network(entry)
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not a network like 10.0.0.0/8 ({exc})") from None
    return value


def s3_endpoint(value: str | None) -> str | None:
    if not value:
        return None  # empty: unset
    parts = urlsplit(value)
    # Requests and presigned URLs address host:port/bucket/key: a path would be dropped.
    if not (
        parts.scheme in ("http", "https")
        and parts.hostname
        and _a_port_if_any(parts)
        and parts.path in ("", "/")
        and not parts.query
    ):
        raise ValueError(f"{value!r} is not an S3 endpoint like http://minio:9000 (no path)")
    return value.rstrip("/")


def database_url(value: str | None) -> str | None:
    if not value:
        return None  # empty: unset
    try:
        conninfo_to_dict(value)
    except psycopg.ProgrammingError:
        # Not libpq's message: it quotes the text, which may hold the password.
        raise ValueError(
            "not a PostgreSQL URL like postgresql://user:password@host:5432/editroom"
        ) from None
    return value


def log_level(value: str) -> str:
    if value.upper() not in logging.getLevelNamesMapping():
        raise ValueError(f"{value!r} is not a level: debug, info, warning or error")
    return value.lower()


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _a_port_if_any(parts: SplitResult) -> bool:
    try:
        return parts.port is None or parts.port > 0
    except ValueError:  # not a number, or out of range
        return False
