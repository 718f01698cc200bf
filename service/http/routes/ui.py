"""/: the editor in the browser, plain ES modules and CSS served from service/http/ui/. It is
a client of the public API like any other; nothing here knows more than the API says."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from service.kernel.errors import NotFound

router = APIRouter(include_in_schema=False)

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Revalidated on every load (answered 304 when unchanged), so a new release is seen at once.
# The security headers, the strict Content-Security-Policy among them, are service/http/
# security.py's, as for every answer.
HEADERS = {"Cache-Control": "no-cache"}


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(UI_DIR / "index.html", media_type=CONTENT_TYPES[".html"], headers=HEADERS)


@router.get("/ui/{path:path}")
async def asset(path: str) -> FileResponse:
    """A file of the UI; only files under service/http/ui/ of the types it is made of."""
    file = (UI_DIR / path).resolve()
    content_type = CONTENT_TYPES.get(file.suffix)
    if content_type is None or not file.is_relative_to(UI_DIR) or not file.is_file():
        raise NotFound(f"/ui/{path} is not a file of the UI")
    return FileResponse(file, media_type=content_type, headers=HEADERS)
