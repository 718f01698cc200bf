"""What `editroom fsck` finds and does, told as it goes (Finding) and summed up (FsckReport),
in text and in JSON; and what it is asked to do (FsckOptions)."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from service.kernel.wording import counted

ORPHAN = "orphan"  # a stored object no row refers to
MISSING = "missing"  # a ready row whose object is gone
SIZE_MISMATCH = "size_mismatch"
HASH_MISMATCH = "hash_mismatch"
UNKNOWN_LENGTH = "unknown_length"  # a video whose row says 0 s: measured from its object
WRONG_LENGTH = "wrong_length"  # remeasure_videos: its object lasts other than its row says
UNMEASURED = "unmeasured"  # remeasure_videos: a video whose object could not be measured
PROBLEMS = (
    ORPHAN, MISSING, SIZE_MISMATCH, HASH_MISMATCH, UNKNOWN_LENGTH, WRONG_LENGTH, UNMEASURED
)  # fmt: skip

REPAIRED = "repaired"
WOULD_REPAIR = "would_repair"  # what --dry-run found it would repair
LEFT = "left"  # for a person to decide


@dataclass(frozen=True, slots=True)
class FsckOptions:
    verify: bool = False  # read every object and compare its SHA-256 with its row
    repair_missing: bool = False  # forget ready media whose object is gone
    dry_run: bool = False  # report what would be repaired, change nothing
    remeasure_videos: bool = False  # measure every video's length, record where it differs


@dataclass(frozen=True, slots=True)
class Finding:
    problem: str
    key: str
    media_id: UUID | None
    detail: str
    outcome: str

    def line(self) -> str:
        media = f" (media {self.media_id})" if self.media_id else ""
        return f"{self.problem}: {self.key}{media}: {self.detail} [{self.outcome}]"

    def as_json(self) -> dict[str, Any]:
        media_id = None if self.media_id is None else str(self.media_id)
        return {
            "problem": self.problem, "key": self.key, "media_id": media_id,
            "detail": self.detail, "outcome": self.outcome,
        }  # fmt: skip


@dataclass(slots=True)
class FsckReport:
    objects_checked: int = 0
    media_checked: int = 0
    objects_hashed: int = 0
    young_unreferenced: int = 0  # objects without a row, younger than the grace: left alone
    videos_remeasured: int = 0  # remeasure_videos: videos of known length measured again
    lengths_recorded: int = 0  # measured lengths written to rows (0 s and wrong ones)
    found: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        """Nothing left: every finding (if any) was repaired."""
        return self.outcomes[LEFT] + self.outcomes[WOULD_REPAIR] == 0

    def as_json(self) -> dict[str, Any]:
        return {
            "objects_checked": self.objects_checked,
            "media_checked": self.media_checked,
            "objects_hashed": self.objects_hashed,
            "young_unreferenced": self.young_unreferenced,
            "videos_remeasured": self.videos_remeasured,
            "lengths_recorded": self.lengths_recorded,
            "found": {problem: self.found[problem] for problem in PROBLEMS},
            "repaired": self.outcomes[REPAIRED],
            "would_repair": self.outcomes[WOULD_REPAIR],
            "left": self.outcomes[LEFT],
            "clean": self.clean,
        }

    def summary(self) -> str:
        found = ", ".join(f"{self.found[p]} {p.replace('_', ' ')}" for p in PROBLEMS)
        verdict = "clean" if self.clean else "NOT clean"
        return "\n".join([
            f"checked {counted(self.objects_checked, 'stored object')} and "
            f"{self.media_checked:,} ready media ({self.objects_hashed:,} hashed, "
            f"{counted(self.videos_remeasured, 'video')} measured again)",
            f"found: {found}",
            f"repaired {self.outcomes[REPAIRED]}, would repair {self.outcomes[WOULD_REPAIR]}, "
            f"left {self.outcomes[LEFT]}; {counted(self.young_unreferenced, 'object')} without "
            "a row, younger than EDITROOM_ORPHAN_GRACE_SECONDS, left alone",
            *self._restart(),
            verdict,
        ])  # fmt: skip

    def _restart(self) -> list[str]:
        if not self.lengths_recorded:
            return []
        return [
            f"recorded {counted(self.lengths_recorded, 'video length')}: restart the service "
            "(editroom serve), which keeps the length of a media it has edited until it restarts"
        ]
