import logging

from service.kernel.logs import LogfmtFormatter


def format_record(message: str, **extra: object) -> str:
    record = logging.LogRecord("runner", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return LogfmtFormatter().format(record)


def test_fields_follow_the_message_and_values_are_quoted_when_needed() -> None:
    line = format_record("edit failed", edit_id="abc", error='no "face" found', kind="image")
    assert 'level=info logger=runner msg="edit failed" edit_id=abc' in line
    assert 'error="no \\"face\\" found"' in line
    assert line.endswith("kind=image")
    assert line.startswith("ts=")


def test_newlines_stay_on_one_line() -> None:
    assert "\n" not in format_record("two\nlines")
