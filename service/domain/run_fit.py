"""Whether a workflow fits each media of a run: the key of the media's edit, or the refusal it
has. The one place for every reason a run refuses a media (sound_alone.py, source_facts.py,
and the existence and kind editroom.workflow_version_to_run checks again as the edits are
made), whether the batch is refused for its first misfit or leaves them out and says why. Each
refusal's problem is a clause with its own subject (media ID, or the workflow's operation), so
a client can say it after the media's name (the UI's Runs tab)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from uuid import UUID

from runner.engine.ops.base import MediaKind
from service.domain import sound_alone
from service.kernel.db import Row
from service.kernel.errors import InvalidParameter

FITTING_MEDIA = "ids of uploaded media the workflow fits"


class Told(IntEnum):
    """Which misfit a refused batch names when it holds several: the first of the first of
    these, the order the refusals were always found in, so it names the media it always has."""

    SOUND_ALONE = 0
    IMPOSSIBLE = 1  # a source the operations cannot fit (source_facts.py)
    KIND = 2  # missing, deleted, or of a kind the workflow does not work on


@dataclass(frozen=True, slots=True)
class Misfit:
    told: Told
    refusal: InvalidParameter


def first_told(misfits: Sequence[Misfit]) -> Misfit:
    """The misfit a refused batch names (Told)."""
    return min(misfits, key=lambda misfit: misfit.told)  # of equals, the first given


def fit(
    workflow: Row, media_id: UUID, media: Row | None, keys: dict[MediaKind, Callable[[Row], str]]
) -> str | Misfit:
    """The key of this media's edit, or why the workflow does not fit it (Workflows._judge)."""
    if media is None:
        return Misfit(Told.KIND, _unfit(media_id, f"media {media_id} does not exist"))
    if not sound_alone.has_picture(media):
        return Misfit(Told.SOUND_ALONE, _sound_alone(media_id))
    key = keys.get(MediaKind(media["kind"]))
    if key is None:
        kind, kinds = media["kind"], "s or ".join(workflow["kinds"])
        other_kind = (
            f"media {media_id} is {_a(kind)}, and workflow {workflow['id']} works on {kinds}s"
        )
        return Misfit(Told.KIND, _unfit(media_id, other_kind))
    try:
        return key(media)
    except InvalidParameter as refused:
        return Misfit(Told.IMPOSSIBLE, refused)


def _unfit(media_id: UUID, problem: str) -> InvalidParameter:
    """A media missing or of another kind. One deleted after the judgement, which
    editroom.workflow_version_to_run refuses as the edits are made, is refused in these words
    too: the batch is judged again to say why (Workflows._refusal_now)."""
    return InvalidParameter("media", str(media_id), problem, accepted=FITTING_MEDIA)


def _sound_alone(media_id: UUID) -> InvalidParameter:
    """Said of the media by its id, as the refusals of a missing media or another kind are:
    a client says each media left out by its own name in their place (the UI's Runs tab),
    and sound alone's problem elsewhere is the predicate alone ("is sound alone")."""
    problem = f"media {media_id} {sound_alone.PROBLEM}"
    return InvalidParameter("media", str(media_id), problem, accepted=sound_alone.ACCEPTED)


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
