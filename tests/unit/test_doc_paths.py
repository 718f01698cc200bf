"""The documentation names files of this repository (`db/functions/600_metrics.sql`, ...);
a file renamed without its mentions sends a reader looking for nothing."""

import re
from pathlib import Path

import pytest

TOP_LEVEL = ("db", "docs", "service", "runner", "observability", "tests", "bench")
GENERATED = ("bench/out/", "tests/e2e/artifacts/")  # made by `make bench` and the e2e tests
MENTION = re.compile(rf"`((?:{'|'.join(TOP_LEVEL)})/[\w./-]+)`")


def markdown_files() -> list[str]:
    found = [Path("README.md"), *Path("docs").glob("*.md"), *Path("bench").glob("*.md")]
    return sorted(str(path) for path in found + list(Path("observability").rglob("*.md")))


@pytest.mark.parametrize("document", markdown_files())
def test_every_repository_path_a_document_names_exists(document: str) -> None:
    named = set(MENTION.findall(Path(document).read_text()))
    missing = {path for path in named if not path.startswith(GENERATED) and not Path(path).exists()}
    assert not missing, f"{document} names files that do not exist: {sorted(missing)}"
