"""Operations that read other media (concat: videos, a video overlay: an image) must name
media that exist and are of the kind they read, with a picture (sound_alone.py)."""

from collections.abc import Sequence

from runner.engine.ops.base import Operation
from service.domain.sound_alone import refuse_sound_alone
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
        found = {row["id"]: row for row in rows}
        expected = (operation.references or operation.kind).value
        for media_id in wanted:
            row = found.get(media_id)
            if row is None or row["kind"] != expected:
                problem = "no such media" if row is None else f"is {row['kind']}"
                raise InvalidParameter(
                    operation.name, str(media_id), problem, accepted=f"ids of uploaded {expected}s"
                )
            refuse_sound_alone(row, parameter=operation.name)
            inputs.append(row["sha256"])
    return inputs
