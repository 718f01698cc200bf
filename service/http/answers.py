"""Answers several routes give alike."""

from fastapi.responses import JSONResponse

from service.domain.edits import FINISHED, Answer
from service.domain.idempotency import REPLAYED_HEADER
from service.http.links import Links
from service.http.schemas import EditOut
from service.kernel.db import Row


async def queued_edit(
    row: Row, *, answer: Answer, links: Links, replayed: bool = False
) -> JSONResponse:
    """An edit (or import) just queued, made inside Edits.waiting(), whose `answer` holds it
    until it has finished (200) or the time is up (202, as without waiting); its address in
    Location. `replayed`: an earlier request with the same Idempotency-Key made it; the edit
    is answered as it is now."""
    # The edit as it is then, still saying whether it was joined or reused.
    row = {**await answer(row), "reused": row.get("reused", False)}
    body = EditOut.from_row(row, links)
    status = 200 if row["status"] in FINISHED else 202
    headers = {"Location": body.url, **replay_header(replayed)}
    return JSONResponse(body.model_dump(mode="json"), status, headers=headers)


def replay_header(replayed: bool) -> dict[str, str]:
    """`Idempotent-Replayed: true` on the answer to a retried request; nothing otherwise."""
    return {REPLAYED_HEADER: "true"} if replayed else {}
