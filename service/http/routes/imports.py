"""POST /bucket/import: bring media in from a URL, as a job of the queue."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from service.domain.edit_controls import parse_wait
from service.http.answers import queued_edit
from service.http.deps import EditsDep, ImportsDep, LinksDep, only_parameters
from service.http.schemas import EditOut

router = APIRouter(prefix="/bucket/import", tags=["media"])


@router.post(
    "",
    status_code=202,
    response_model=EditOut,
    dependencies=[Depends(only_parameters("url", "format", "max_height", "wait", "priority"))],
    responses={
        422: {
            "description": "the URL is refused (scheme, address, allow-list) or a "
            "parameter is wrong; the body says which"
        }
    },
)
async def import_media(
    request: Request, imports: ImportsDep, edits: EditsDep, links: LinksDep
) -> JSONResponse:
    """`?url=https://...&format=best|mp4|audio&max_height=1080`: a web page with a video, or a
    direct link to an image or video. The answer is the job: follow it at its `events_url`
    (progress says bytes so far and in all); its output is the imported media."""
    params = dict(request.query_params)
    wait = parse_wait(params.get("wait"))
    async with edits.waiting(wait) as answer:
        row = await imports.create(params)
        return await queued_edit(row, answer=answer, links=links)
