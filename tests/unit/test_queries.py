"""Every named query the code runs exists in queries.sql, and every one there is used."""

import re
from pathlib import Path

from service.kernel.db import QUERIES, QUERIES_FILE, load_queries

CALL = re.compile(r"""\.fetch_(?:all|one)\(\s*["'](\w+)["']""")


def code() -> str:
    sources = [*Path("service").rglob("*.py"), *Path("runner").rglob("*.py")]
    return "\n".join(path.read_text() for path in sources)


def test_every_query_called_exists() -> None:
    assert set(CALL.findall(code())) <= set(QUERIES)


def test_every_query_is_used() -> None:
    source = code()
    assert [name for name in QUERIES if f'"{name}"' not in source] == []


def test_sections_are_split_on_name_headers(tmp_path: Path) -> None:
    path = tmp_path / "q.sql"
    path.write_text("-- preamble\n\n-- name: one\nSELECT 1;\n\n-- name: two\n-- why\nSELECT 2;\n")
    assert load_queries(path) == {"one": "SELECT 1;", "two": "-- why\nSELECT 2;"}


def test_queries_call_the_sql_api_only() -> None:
    text = QUERIES_FILE.read_text()
    assert not re.search(r"\b(INSERT|UPDATE|DELETE)\b", text), (
        "rules belong in editroom.* functions"
    )
