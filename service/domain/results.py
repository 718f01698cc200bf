"""Results by address: `GET /media/{id}/{operations}` names an edit by what it is (a media and
operations as written), so the address can be worked out from the parameters, put in an
<img src> and cached by a CDN. The edit behind it is made once (Edits.create_once): asked for
again, its result is answered, or the edit still under way is joined and waited for."""

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from uuid import UUID

from runner.engine.image.format import Format
from runner.engine.ops import grammar
from runner.engine.ops.base import MediaKind
from runner.engine.ops.catalogue import catalogue
from service.domain.edits import Edits, resolve_auto
from service.domain.library import MediaLibrary
from service.kernel.db import Row
from service.kernel.errors import Conflict, EditFailed, NotFound
from service.kernel.query import query_items
from service.kernel.wording import counted

FIRST_OUTPUT = 1


@dataclass(frozen=True)
class Result:
    """An edit asked for by address: `output` is the result's media once it has completed,
    None while it is still to finish. `varies_by_accept`: format=auto chose from Accept."""

    edit: Row
    output: Row | None
    varies_by_accept: bool


class Results:
    def __init__(self, *, edits: Edits, library: MediaLibrary, wait_seconds: float) -> None:
        self._edits = edits
        self._library = library
        self._wait_seconds = wait_seconds

    async def result(
        self, media_id: UUID, written: str, *, accept: str = "", output: str | None = None
    ) -> Result:
        """The edit of `media_id` by the operations `written` (query grammar, escapes as
        sent), done or joined, waited for up to EDITROOM_RESULT_WAIT_SECONDS; its `output`-th
        result (from 1) once completed."""
        index = _output_index(output)
        media = await self._library.get(media_id)
        items = query_items(written)
        parsed = self._edits.parse(MediaKind(media["kind"]), items, controls=())
        operations = resolve_auto(parsed, accept)
        # Always waited for below, unless completed already: durability as wait() gives it.
        edit = await self._edits.create_once(media, operations, durable=False, by_address=True)
        if edit["status"] != "completed":
            edit = await self._edits.wait(edit["id"], self._wait_seconds)
        auto = any(isinstance(op, Format) and op.auto for op in operations)
        return Result(edit, await self._output(edit, index), varies_by_accept=auto)

    async def _output(self, edit: Row, index: int) -> Row | None:
        if edit["status"] == "failed":
            raise EditFailed(f"edit {edit['id']} failed: {edit['error']}")
        if edit["status"] == "cancelled":
            raise Conflict(f"edit {edit['id']} was cancelled; ask again to run it")
        if edit["status"] != "completed":
            return None
        outputs: list[UUID] = edit["outputs"]
        if index > len(outputs):
            raise NotFound(f"edit {edit['id']} made {counted(len(outputs), 'result')}, not {index}")
        return await self._library.get(outputs[index - 1])

    async def read(self, media: Row) -> AsyncGenerator[bytes, None]:
        return await self._library.read(media)


def role_in_the_language(name: str) -> str | None:
    """What a parameter is in the edit language ("an operation", "a modifier of resize"), for
    a result address given it in its query string: its operations go in its path."""
    return catalogue().role(name)


def _output_index(text: str | None) -> int:
    if text is None:
        return FIRST_OUTPUT
    return grammar.integer("output", text, minimum=FIRST_OUTPUT)
