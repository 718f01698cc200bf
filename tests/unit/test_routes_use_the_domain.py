"""Routes reach the database only through the domain's objects: none is handed a Database
(deps offers none), and none reaches through a domain object to its database either."""

import ast
from pathlib import Path

import pytest

ROUTES = sorted(Path("service/http/routes").glob("*.py"))
DATABASE_NAMES = {"Database", "DatabaseDep", "database", "fetch_all", "fetch_one", "listen"}


def database_uses(path: Path) -> list[str]:
    """`file:line name` for every name or attribute that is the database or one of its calls."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
        if isinstance(node, ast.arg):
            name = node.arg
        if name in DATABASE_NAMES:
            found.append(f"{path}:{getattr(node, 'lineno', '?')} {name}")
    return found


@pytest.mark.parametrize("path", ROUTES, ids=lambda path: path.name)
def test_a_route_module_never_touches_the_database(path: Path) -> None:
    assert database_uses(path) == []


def test_dependencies_offer_no_database() -> None:
    assert database_uses(Path("service/http/deps.py")) == []


def test_the_check_sees_a_route_that_queries_the_database(tmp_path: Path) -> None:
    route = tmp_path / "route.py"
    route.write_text(
        "async def listing(library):\n    return await library.database.fetch_all('x')\n"
    )
    assert [use.split()[-1] for use in database_uses(route)] == ["fetch_all", "database"]
