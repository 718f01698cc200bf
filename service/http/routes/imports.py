"""POST /bucket/import: bring media in from a URL, as a job of the queue."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from service.domain.edit_controls import parse_wait
from service.http.answers import queued_edit
from service.http.deps import EditsDep, ImportsDep, LinksDep
from service.http.schemas import EditOut

router = APIRouter(prefix="/bucket/import", tags=["media"])


@router.post(
    "",
    status_code=202,
    response_model=EditOut,
    responses={
        422: {
            "description": "the URL is refused (scheme, address, allow-list) or a "
            "parameter is wrong; the body says which"
        },
        503: {
            "description": "as many imports' host names are being looked up as are at once; "
            "try again after Retry-After"
        },
    },
)
async def import_media(
    imports: ImportsDep,
    edits: EditsDep,
    links: LinksDep,
    url: Annotated[str | None, Query(description="required: http(s), a page or a file")] = None,
    format: Annotated[str | None, Query(description="best (default), mp4 or audio")] = None,
    max_height: Annotated[str | None, Query(description="a video's tallest, pixels")] = None,
    wait: Annotated[str | None, Query(description="seconds to wait, up to 60")] = None,
    priority: Annotated[str | None, Query(description="-1000 to 1000, 0 by default")] = None,
) -> JSONResponse:
    """`?url=https://...&format=best|mp4|audio&max_height=1080`: a web page with a video, or a
    direct link to an image or video. The answer is the job: follow it at its `events_url`
    (progress says bytes so far and in all); its output is the imported media."""
    given = {"url": url, "format": format, "max_height": max_height, "priority": priority}
    params = {name: value for name, value in given.items() if value is not None}
    async with edits.waiting(parse_wait(wait)) as answer:
        row = await imports.create(params)
        return await queued_edit(row, answer=answer, links=links)
