"""Operations that read other media (concat: videos, a video overlay: an image) must name
media that exist and are of the kind they read."""

from collections.abc import Sequence

from runner.engine.ops.base import Operation
from service.kernel.db import Database
from service.kernel.errors import InvalidParameter


async def check_references(database: Database, operations: Sequence[Operation]) -> list[str]:
    """The SHA-256 of each media the operations read, in the order they name them."""
    inputs: list[str] = []
    for operation in operations:
        wanted = operation.media_references()
        if not wanted:
            continue
        rows = await database.fetch_all("media_kinds", ids=list(wanted))
        kinds = {row["id"]: row["kind"] for row in rows}
        sha256s = {row["id"]: row["sha256"] for row in rows}
        expected = (operation.references or operation.kind).value
        for media_id in wanted:
            if kinds.get(media_id) != expected:
                problem = "no such media" if media_id not in kinds else f"is {kinds[media_id]}"
                raise InvalidParameter(
                    operation.name, str(media_id), problem, accepted=f"ids of uploaded {expected}s"
                )
            inputs.append(sha256s[media_id])
    return inputs
