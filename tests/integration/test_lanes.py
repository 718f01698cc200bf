"""Named lanes: image, video and import edits have slots of their own in every runner, so a
lane that is full (slow imports, long videos) never stops the others from being claimed; and
a claim of one kind reads what it claims, not the other kinds or the history."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from runner.process.execute import ClaimedEdit, ReportProgress
from service.kernel.db import OwnConnection
from service.kernel.settings import Settings
from tests import media
from tests.api import quick_settings, running_api
from tests.queue import Conn, claim, disable_backoff, enqueue, insert_media
from tests.runner_harness import running_runner
from tests.waiting import eventually
from tests.web import trickling, web_server

IMAGE_EDIT_BOUND_SECONDS = 20.0  # a 64x48 flip; generous for a loaded 2-core machine
LANE_INDEXES = {kind: f"edits_{kind}_claimable_idx" for kind in ("image", "video", "import")}


def lanes_claim(conn: Conn, kinds: list[str], limits: list[int]) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT * FROM editroom.claim_edits_in_lanes('w', %s, %s)", [kinds, limits]
    ).fetchall()


def statuses(conn: Conn, ids: list[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT status::text FROM unnest(%s::uuid[]) WITH ORDINALITY AS i (id, n)"
        " JOIN editroom.edits e USING (id) ORDER BY i.n",
        [ids],
    ).fetchall()
    return [row["status"] for row in rows]


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Two import slots, one image slot; a trickle is never stopped by the import limits."""
    return quick_settings(
        database_url, tmp_path / "data", import_allow_private=True,
        import_min_bytes_per_second=0, import_timeout_seconds=300,
        import_socket_timeout_seconds=120, runner_image_slots=1, runner_import_slots=2,
        shutdown_grace_seconds=1,
    )  # fmt: skip


def test_an_image_edit_completes_while_every_import_slot_hangs(
    settings: Settings, conn: Conn
) -> None:
    disable_backoff(conn)
    stop = threading.Event()
    route = trickling(declared_bytes=10**6, seconds_per_byte=0.5, stop=stop)
    try:
        with (
            web_server({"/trickle.mp4": route}) as site,
            running_api(settings) as api,
            running_runner(settings),
        ):
            imports = [
                api.client.post("/bucket/import", params={"url": f"{site}/trickle.mp4"}).json()
                for _ in range(3)
            ]
            ids = [job["id"] for job in imports]
            eventually(
                lambda: sorted(statuses(conn, ids)) == ["processing", "processing", "queued"],
                timeout=30, what="both import slots to hang on the trickle",
            )  # fmt: skip
            picture = api.upload(media.image_bytes("PNG", size=(64, 48)), filename="p.png")
            started = time.monotonic()
            answer = api.client.post(
                "/edit", params={"media": picture.json()["id"], "flip": "h", "wait": "30"}
            )
            elapsed = time.monotonic() - started
            hanging = statuses(conn, ids)
    finally:
        stop.set()
    assert answer.json()["status"] == "completed", answer.json()
    assert elapsed < IMAGE_EDIT_BOUND_SECONDS
    assert sorted(hanging) == ["processing", "processing", "queued"]  # the imports still hang


def test_a_full_lane_does_not_stop_the_others(conn: Conn) -> None:
    image = insert_media(conn)
    video = insert_media(conn)
    conn.execute("UPDATE editroom.media SET kind = 'video' WHERE id = %s", [video])
    images = [enqueue(conn, image)["id"] for _ in range(3)]
    videos = [enqueue(conn, video)["id"] for _ in range(2)]
    imports = [
        conn.execute(
            "SELECT id FROM editroom.enqueue_import(%s)",
            [Jsonb({"op": "import", "url": "https://example.com/a.mp4"})],
        ).fetchone()["id"]  # type: ignore[index]
        for _ in range(2)
    ]

    # The import lane is full (0 free slots): images and a video are claimed all the same.
    claimed = lanes_claim(conn, ["image", "video", "import"], [2, 1, 0])

    assert sorted(row["kind"] for row in claimed) == ["image", "image", "video"]
    assert {row["id"] for row in claimed} <= set(images) | set(videos)
    assert statuses(conn, imports) == ["queued", "queued"]
    assert [row["kind"] for row in lanes_claim(conn, ["import"], [5])] == ["import"] * 2


def test_a_lane_that_came_back_empty_is_not_asked_again_until_news(
    settings: Settings, conn: Conn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One image slot, four image edits queued in one statement (one NOTIFY), none of the
    other kinds: each freed image slot claims images alone, not the empty video and import
    lanes again (which cost a claim each time an image slot freed)."""
    claims: list[tuple[list[str], list[str]]] = []  # (lanes asked for, kinds claimed)
    fetch_all = OwnConnection.fetch_all  # the runner's claims go out on one of their own

    async def spying(self: OwnConnection, query: str, **params: Any) -> list[dict[str, Any]]:
        rows = await fetch_all(self, query, **params)
        if query == "claim_edits":
            claims.append((list(params["kinds"]), [str(row["kind"]) for row in rows]))
        return rows

    async def at_once(edit: ClaimedEdit, report: ReportProgress) -> list[UUID]:
        return []

    monkeypatch.setattr(OwnConnection, "fetch_all", spying)
    quiet = settings.model_copy(update={"poll_interval_seconds": 60.0})  # news only by NOTIFY
    image = insert_media(conn)
    with running_runner(quiet, execute=at_once):
        eventually(lambda: len(claims) >= 2, timeout=10, what="the runner's first claims")
        conn.execute("SELECT 1 FROM editroom.enqueue_edits(%s, '[]')", [[image] * 4])
        eventually(
            lambda: conn.execute(
                "SELECT count(*) AS n FROM editroom.edits WHERE status = 'completed'"
            ).fetchone() == {"n": 4},
            timeout=20, what="the four edits to complete",
        )  # fmt: skip
    first = next(i for i, (_, got) in enumerate(claims) if got)
    assert claims[first][1] == ["image"]
    later = [asked for asked, _ in claims[first + 1 :]]
    assert later == [["image"]] * len(later)  # the other lanes came back empty before
    # Three more edits; then a claim that finds none, and one more once the image lane is
    # watched again (it was let go of while its one slot was busy).
    assert 3 <= len(later) <= 5


@pytest.mark.parametrize(
    ("kinds", "limits", "problem"),
    [(["image"], [1, 2], "one length"), (["image"], [-1], "at least 0"),
     (["image"], None, "one length"), (["audio"], [1], "image, video or import")],
)  # fmt: skip
def test_lane_limits_are_checked(
    conn: Conn, kinds: list[str], limits: list[int] | None, problem: str
) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match=problem):
        conn.execute("SELECT * FROM editroom.claim_edits_in_lanes('w', %s, %s)", [kinds, limits])


def test_every_way_of_queueing_sets_the_kind(conn: Conn) -> None:
    image = insert_media(conn)
    direct = enqueue(conn, image)
    workflow = conn.execute(
        "SELECT ((editroom.create_workflow('w', %s, '{image}')).workflow).id AS id",
        [Jsonb([{"op": "flip", "axis": "h"}])],
    ).fetchone()
    assert workflow is not None
    (run,) = conn.execute(
        "SELECT * FROM editroom.run_workflow(%s, ARRAY[%s::uuid])", [workflow["id"], image]
    ).fetchall()
    session = conn.execute("SELECT (editroom.open_session(%s)).id AS id", [image]).fetchone()
    assert session is not None
    first = enqueue(conn, None, session_id=session["id"])
    second = enqueue(conn, None, session_id=session["id"])  # waits for the first: input unknown
    assert (direct["kind"], run["kind"], first["kind"], second["kind"]) == (
        "image", "image", "image", None,
    )  # fmt: skip

    (held,) = claim(conn, "w")  # the oldest claimable: the direct edit
    for row in claim(conn, "w", limit=5):
        if row["id"] == first["id"]:
            conn.execute(
                "SELECT editroom.complete_edit(%s, 'w', ARRAY[%s::uuid], %s)",
                [first["id"], image, row["trial"]],
            )
    assert held["id"] == direct["id"]
    unblocked = conn.execute(
        "SELECT kind, blocked_by FROM editroom.edits WHERE id = %s", [second["id"]]
    ).fetchone()
    assert unblocked == {"kind": "image", "blocked_by": None}


def test_a_retried_edit_from_before_lanes_gets_its_kind(conn: Conn) -> None:
    edit_id = enqueue(conn, insert_media(conn))["id"]
    conn.execute(
        "UPDATE editroom.edits SET kind = NULL, status = 'failed', finished_at = now()"
        " WHERE id = %s",
        [edit_id],
    )
    retried = conn.execute("SELECT * FROM editroom.retry_edit(%s)", [edit_id]).fetchone()
    assert retried is not None and retried["kind"] == "image"


BACKING_OFF = 10_000
OTHER_KIND = 10_000
MANY_FINISHED = 50_000
BUFFERS_PER_CLAIM_OF_10 = 40  # as for claim_edits: index pages and ten heap pages


@pytest.fixture(scope="module")
def crowded(module_database_url: str) -> Iterator[Conn]:
    """MANY_FINISHED finished edits, BACKING_OFF image edits in back-off, OTHER_KIND due
    imports queued before them all, and a few due image edits: made once for the module
    (seconds to build), each test rolling back what it does."""
    with psycopg.connect(module_database_url, autocommit=True, row_factory=dict_row) as conn:
        yield crowded_edits(conn)


def crowded_edits(conn: Conn) -> Conn:
    media_id = insert_media(conn)
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, finished_at, kind)
           SELECT %s, %s, 'completed', 1, now(), 'image' FROM generate_series(1, %s)""",
        [media_id, Jsonb([]), MANY_FINISHED],
    )
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, kind, run_after)
           SELECT NULL, %s, 'import', now() - interval '1 hour' FROM generate_series(1, %s)""",
        [Jsonb([{"op": "import", "url": "https://example.com/"}]), OTHER_KIND],
    )
    conn.execute(
        """INSERT INTO editroom.edits (media_id, ops, status, trial, error, run_after, kind)
           SELECT %s, %s, 'error', 1, 'flaky', now() + interval '1 hour', 'image'
             FROM generate_series(1, %s)""",
        [media_id, Jsonb([]), BACKING_OFF],
    )
    conn.execute(
        "INSERT INTO editroom.edits (media_id, ops, kind) SELECT %s, %s, 'image'"
        " FROM generate_series(1, 20)",
        [media_id, Jsonb([])],
    )
    conn.execute("VACUUM ANALYZE editroom.edits")
    return conn


def test_a_lane_claim_reads_what_it_claims(crowded: Conn) -> None:
    """EXPLAIN of the lanes' walks as claim_edits_in_lanes writes them (db/functions/112): ten
    images and an empty video lane, past 10,000 due imports queued before them, 10,000 images
    in back-off and 50,000 finished edits."""
    branch = """SELECT w.id FROM editroom.edits w
                 WHERE w.kind = '{kind}'
                   AND editroom.edit_claimable(w.status, w.blocked_by, w.run_after)
                 ORDER BY w.priority DESC, w.run_after, w.id
                 LIMIT {limit} FOR UPDATE SKIP LOCKED"""
    shape = " UNION ALL ".join(
        f"SELECT * FROM ({branch.format(kind=kind, limit=limit)}) AS {kind}"
        for kind, limit in (("image", 10), ("video", 1), ("import", 0))
    )
    with crowded.transaction(force_rollback=True):
        row = crowded.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {shape}").fetchone()
    assert row is not None
    plan = row["QUERY PLAN"][0]["Plan"]
    assert plan["Actual Rows"] == 10
    assert LANE_INDEXES["image"] in str(plan) and LANE_INDEXES["video"] in str(plan)
    assert "edits_claimable_idx" not in str(plan) and "Seq Scan" not in str(plan)
    assert plan["Shared Hit Blocks"] + plan["Shared Read Blocks"] <= BUFFERS_PER_CLAIM_OF_10, plan


def test_claim_edits_in_lanes_walks_only_the_lane_indexes(crowded: Conn) -> None:
    """The function itself: this transaction's scan counters, and the blocks of each lane's
    index it fetched (planning's few included) against the image index's size."""
    counters = """SELECT pg_stat_get_xact_numscans('editroom.edits'::regclass) AS seq,
                         pg_stat_get_xact_numscans('editroom.edits_claimable_idx'::regclass)
                             AS shared,
                         pg_stat_get_xact_blocks_fetched(%(image)s::regclass) AS image,
                         pg_stat_get_xact_blocks_fetched(%(video)s::regclass) AS video,
                         pg_relation_size(%(image)s::regclass) / 8192 AS image_pages"""
    indexes = {kind: f"editroom.{LANE_INDEXES[kind]}" for kind in ("image", "video")}
    with crowded.transaction(force_rollback=True):
        before = crowded.execute(counters, indexes).fetchone()
        claimed = lanes_claim(crowded, ["image", "video", "import"], [10, 1, 0])
        after = crowded.execute(counters, indexes).fetchone()
    assert [row["trial"] for row in claimed] == [1] * 10  # due images, none in back-off
    assert {row["kind"] for row in claimed} == {"image"}
    assert before is not None and after is not None
    assert (after["seq"] - before["seq"], after["shared"] - before["shared"]) == (0, 0)
    assert after["image_pages"] > 50  # the back-off images it must not read
    assert after["image"] - before["image"] <= 10, (before, after)
    assert after["video"] - before["video"] <= 12, (before, after)
