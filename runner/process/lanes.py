"""A runner's lanes: slots per kind of edit (image, video, import), which of them are worth a
claim, and which the runner watches for wake-ups.

- Slots: each lane has a limit of its own (EDITROOM_RUNNER_IMAGE_SLOTS, _VIDEO_, _IMPORT_),
  so slow imports or long videos filling their lane never stop image edits being claimed.
- Dry lanes: a lane whose claim came back short is not asked again until there is news of the
  queue for it (a NOTIFY, a poll, LISTEN reconnecting, an outage's end: every lane; its watch
  taken again: that lane). Otherwise image slots freeing one by one would each send a claim
  for the empty video and import lanes too. News that arrives while a claim is in flight keeps
  the lane wet: the claim may have read the queue before that news's edits were committed.
  "Short" is not always "empty": a claim skips edits another transaction has locked (SKIP
  LOCKED), and one that then leaves them claimable (a claim rolled back, a DBA's open
  transaction) sends no news: those wait for the next poll (EDITROOM_POLL_INTERVAL_SECONDS).
- Watches: a lane with free slots holds its wake slots, so enqueues of its kind NOTIFY; a full
  lane lets go, so they do not (db/functions/040_edit_triggers.sql): image edits queued while
  every image slot is busy send no NOTIFY, however many video or import slots are free."""

import logging
from collections import Counter

from service.kernel.db import WakeSlots
from service.kernel.errors import EditroomError
from service.kernel.settings import Settings

log = logging.getLogger(__name__)

QUEUE_CHANNEL = "editroom_queue"

News = dict[str, int]  # lane -> how much news of the queue it has had


class Lanes:
    def __init__(self, *, slots: dict[str, int], watch: WakeSlots, worker: str) -> None:
        self.slots = slots
        self.busy: Counter[str] = Counter()  # slots taken, per lane
        self._watch = watch
        self._worker = worker
        self._news: Counter[str] = Counter()
        self._dry: News = {}  # lane -> its news when its claim came back short

    def free(self) -> dict[str, int]:
        """The free slots of each lane that has any."""
        free = {lane: n - self.busy[lane] for lane, n in self.slots.items()}
        return {lane: n for lane, n in free.items() if n > 0}

    def worth_claiming(self, free: dict[str, int]) -> dict[str, int]:
        """The free slots of the lanes that are not dry."""
        return {lane: n for lane, n in free.items() if self._dry.get(lane) != self._news[lane]}

    def hear_news(self, *lanes: str) -> None:
        """The queue may have changed for these lanes (every lane, without any)."""
        self._news.update(lanes or self.slots.keys())

    def news(self) -> News:
        """What has been heard so far: take it before a claim, give it to `came_back`."""
        return dict(self._news)

    def came_back(self, asked: dict[str, int], claimed: Counter[str], news: News) -> bool:
        """A claim asked for `asked` and got `claimed`: a lane that got less is dry, unless
        news came meanwhile. Whether a lane got all it asked for (there may be more)."""
        for lane, n in asked.items():
            if claimed[lane] < n:
                self._dry[lane] = news.get(lane, 0)
        return any(claimed[lane] == n for lane, n in asked.items())

    async def watch(self, free: dict[str, int]) -> bool:
        """Watch the lanes with free slots and only those, before waiting. An enqueue of a
        newly watched lane's kind that skipped its NOTIFY held one of its slots until it
        committed, so a claim made after this sees its edit; any later one finds the slots
        held and notifies (the runner's LISTEN came first). True when a lane was newly
        watched: claim once more (its news is heard). False otherwise, and when the database
        cannot be reached: the poll finds the work instead."""
        watching = {lane for lane in self.slots if lane_channel(lane) in self._watch.watching}
        try:
            busy = watching - free.keys()  # its wake-ups could not be acted on
            if busy:
                await self._watch.unwatch(*sorted(lane_channel(lane) for lane in busy))
            newly = free.keys() - watching
            if not newly:
                return False
            await self._watch.watch(*sorted(lane_channel(lane) for lane in newly))
        except EditroomError as exc:  # a lost session took its locks with it
            log.warning("cannot watch the queue", extra={"worker": self._worker, "error": str(exc)})
            return False
        self.hear_news(*newly)  # unwatched, enqueues of its kind did not notify
        return True

    async def check(self) -> None:
        """Whether the watch's session lives (if not, its locks went with it: the next round
        watches again). On each poll, and when LISTEN reconnects or an outage ends."""
        if self._watch.held:
            await self._watch.check()

    async def close(self) -> None:
        await self._watch.close()


def lane_channel(lane: str) -> str:
    """The wake slots of a lane: enqueues of its kind notify QUEUE_CHANNEL while they are held
    (db/functions/040_edit_triggers.sql, editroom.lane_channel)."""
    return f"{QUEUE_CHANNEL}:{lane}"


def lane_slots(settings: Settings, *, image: int | None = None) -> dict[str, int]:
    """The slots of each lane; `image` overrides the image lane's (editroom runner
    --concurrency)."""
    return {
        "image": image or settings.runner_image_slots,
        "video": settings.runner_video_slots,
        "import": settings.runner_import_slots,
    }
