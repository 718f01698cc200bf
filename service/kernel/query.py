"""A query string read as UTF-8 text, strictly: a parameter whose escapes are not UTF-8
(`text=%FF`) is refused naming it. Read with replacement characters, as Starlette and
urllib read by default, `text=%FF` was drawn on the picture as "\ufffd"."""

from urllib.parse import parse_qsl, unquote, unquote_to_bytes

from service.kernel.errors import InvalidParameter

ACCEPTED = "UTF-8 text, each byte of a character escaped (é as %C3%A9)"


def query_items(written: str) -> list[tuple[str, str]]:
    """The parameters of `written` (a query string, or a result address's operations), in
    order, blank values kept."""
    try:
        return parse_qsl(written, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise _not_utf8(written) from None


def _not_utf8(written: str) -> InvalidParameter:
    for pair in written.split("&"):
        name, _, value = pair.replace("+", " ").partition("=")
        for part in (name, value):
            try:
                unquote_to_bytes(part).decode("utf-8")
            except UnicodeDecodeError as exc:
                shown = unquote(value, errors="backslashreplace")
                byte = exc.object[exc.start]
                problem = f"not UTF-8 text (the byte 0x{byte:02X} begins no character there)"
                return InvalidParameter(
                    unquote(name, errors="backslashreplace"), shown, problem, accepted=ACCEPTED
                )
    raise AssertionError("parse_qsl refused a query every part of which decodes")
