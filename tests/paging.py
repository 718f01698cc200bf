"""Walking a keyset listing page by page, as a client would."""

from typing import Any

from fastapi.testclient import TestClient


def every_page(client: TestClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Each page's body, following next_cursor until there is none."""
    pages: list[dict[str, Any]] = []
    while True:
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        if pages[-1]["next_cursor"] is None:
            return pages
        params["cursor"] = pages[-1]["next_cursor"]


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for page in pages for item in page["items"]]
