"""Copies made by result addresses, in SQL: an edit only a GET address asked for is marked
by_address (with its results), and any other request that finds it clears the mark, whatever
order the requests come in."""

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row

from tests.queue import Conn, claim, insert_media

ONCE = """SELECT (o.edit).*, o.reused FROM editroom.enqueue_edit_once(
              p_media_id => %(media)s, p_ops => '[{"op": "noop"}]', p_edit_key => %(key)s,
              p_by_address => %(by_address)s) AS o"""
HELD_SECONDS = 0.5  # long enough for a call that does not wait to have answered


def key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def once(conn: Conn, media: UUID, name: str, *, by_address: bool) -> dict[str, Any]:
    row = conn.execute(ONCE, {"media": media, "key": key(name), "by_address": by_address})
    made = row.fetchone()
    assert made is not None
    return made


def marked(conn: Conn, edit_id: UUID) -> bool:
    row = conn.execute(
        "SELECT by_address FROM editroom.all_edits WHERE id = %s", [edit_id]
    ).fetchone()
    assert row is not None
    return bool(row["by_address"])


def media_marked(conn: Conn, media_id: UUID) -> bool:
    row = conn.execute("SELECT by_address FROM editroom.media WHERE id = %s", [media_id]).fetchone()
    assert row is not None
    return bool(row["by_address"])


def add_result(conn: Conn, edit_id: UUID, name: str) -> UUID:
    """A result stored for edit_id, recorded as the runner's completion records it."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    row = conn.execute(
        """SELECT (a.media).id FROM editroom.add_media(
               p_kind => 'image', p_content_type => 'image/webp', p_size_bytes => 1,
               p_sha256 => %s, p_storage_key => %s, p_source_edit_id => %s) AS a""",
        [digest, f"test/{digest}", edit_id],
    ).fetchone()
    assert row is not None
    return UUID(str(row["id"]))


def completed_by_address(conn: Conn, media: UUID, name: str) -> tuple[dict[str, Any], UUID]:
    made = once(conn, media, name, by_address=True)
    (claimed,) = claim(conn, "w")
    result = add_result(conn, claimed["id"], f"{name} result")
    conn.execute("SELECT editroom.complete_edit(%s, 'w', ARRAY[%s]::uuid[])", [made["id"], result])
    return made, result


def test_an_address_marks_the_edit_it_makes_and_another_address_keeps_it(conn: Conn) -> None:
    media = insert_media(conn)
    made = once(conn, media, "thumb", by_address=True)
    joined = once(conn, media, "thumb", by_address=True)
    assert (made["by_address"], made["reused"]) == (True, False)
    assert (joined["id"], joined["reused"], joined["by_address"]) == (made["id"], True, True)
    assert once(conn, media, "named", by_address=False)["by_address"] is False


def test_a_request_by_name_that_joins_an_address_edit_clears_its_mark(conn: Conn) -> None:
    media = insert_media(conn)
    made = once(conn, media, "thumb", by_address=True)
    joined = once(conn, media, "thumb", by_address=False)  # POST /edit's call
    assert (joined["id"], joined["reused"], joined["by_address"]) == (made["id"], True, False)
    assert marked(conn, made["id"]) is False
    # and an address asking again leaves it a person's edit
    assert once(conn, media, "thumb", by_address=True)["by_address"] is False


def test_a_completed_address_edit_reused_by_name_is_cleared_with_its_results(conn: Conn) -> None:
    media = insert_media(conn)
    made, result = completed_by_address(conn, media, "thumb")
    assert (marked(conn, made["id"]), media_marked(conn, result)) == (True, True)
    reused = conn.execute(
        """SELECT (a.edit).id, (a.edit).by_address, a.reused
             FROM editroom.enqueue_edit_once_admitted(1000, %s, '[{"op": "noop"}]', %s) AS a""",
        [media, key("thumb")],
    ).fetchone()  # POST /edit's call for a media the service knows; its mark left default
    assert reused == {"id": made["id"], "by_address": False, "reused": True}
    assert (marked(conn, made["id"]), media_marked(conn, result)) == (False, False)


def test_an_archived_address_edit_reused_by_name_is_cleared_in_history(conn: Conn) -> None:
    media = insert_media(conn)
    made, result = completed_by_address(conn, media, "thumb")
    conn.execute("SELECT editroom.archive_finished_edits('0 seconds', 100)")
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 0}
    reused = once(conn, media, "thumb", by_address=False)
    assert (reused["id"], reused["reused"], reused["by_address"]) == (made["id"], True, False)
    in_history = conn.execute(
        "SELECT by_address FROM editroom.edit_history WHERE id = %s", [made["id"]]
    ).fetchone()
    assert in_history == {"by_address": False}
    assert media_marked(conn, result) is False


def test_a_clearing_is_announced_live_and_archived(database_url: str, conn: Conn) -> None:
    """A listing that leaves copies out hears of one that is no longer a copy."""
    media = insert_media(conn)
    archived, _ = completed_by_address(conn, media, "archived")
    conn.execute("SELECT editroom.archive_finished_edits('0 seconds', 100)")
    live = once(conn, media, "live", by_address=True)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN editroom_edit_events")
        listener.execute("SELECT editroom.watch_events()")
        once(conn, media, "live", by_address=False)
        once(conn, media, "archived", by_address=False)
        told = [
            event["id"]
            for notification in listener.notifies(timeout=HELD_SECONDS)
            for event in json.loads(notification.payload)
        ]
    assert told == [str(live["id"]), str(archived["id"])]


def test_a_workflow_run_that_finds_an_address_edit_clears_its_mark(conn: Conn) -> None:
    media = insert_media(conn)
    workflow = conn.execute(
        """SELECT (c.workflow).id FROM editroom.create_workflow(
               'noop', '[{"op": "noop"}]', ARRAY['image']::editroom.media_kind[]) AS c"""
    ).fetchone()
    assert workflow is not None
    made = once(conn, media, "thumb", by_address=True)
    run = conn.execute(
        """SELECT (o.edit).id, (o.edit).by_address, o.reused
             FROM editroom.run_workflow_once(%s, 1, ARRAY[%s]::uuid[], ARRAY[%s]) AS o""",
        [workflow["id"], media, key("thumb")],
    ).fetchall()
    assert run == [{"id": made["id"], "by_address": False, "reused": True}]
    assert marked(conn, made["id"]) is False


def in_turn(database_url: str, first: Callable[[Conn], Any], second: Callable[[Conn], Any]) -> Any:
    """first() in a transaction left open while second() runs on another connection; second
    must wait for first's commit. Returns what second() returned."""
    answers: list[Any] = []
    with psycopg.connect(database_url, row_factory=dict_row) as holder:
        first(holder)

        def other() -> None:
            with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as c:
                answers.append(second(c))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(HELD_SECONDS)
        assert thread.is_alive()  # held until the first commits
        holder.commit()
    thread.join(10)
    assert len(answers) == 1
    return answers[0]


def test_an_address_and_a_post_at_once_leave_one_unmarked_edit_either_way(
    database_url: str, conn: Conn
) -> None:
    media = insert_media(conn)
    for name, address_first in (("address first", True), ("post first", False)):
        made: list[dict[str, Any]] = []

        def first(c: Conn, n: str = name, f: bool = address_first, into: list[Any] = made) -> None:
            into.append(once(c, media, n, by_address=f))

        def second(c: Conn, n: str = name, f: bool = address_first) -> dict[str, Any]:
            return once(c, media, n, by_address=not f)

        joined = in_turn(database_url, first, second)
        assert joined["id"] == made[0]["id"] and joined["reused"] is True
        assert marked(conn, joined["id"]) is False, name
    assert conn.execute("SELECT count(*) AS n FROM editroom.edits").fetchone() == {"n": 2}


def test_a_result_recorded_while_its_mark_is_being_cleared_is_cleared_too(
    database_url: str, conn: Conn
) -> None:
    """The runner's completion reads the mark to copy it on the result; a request by name
    clearing it at that moment (its results not made yet) is waited for."""
    media = insert_media(conn)
    made = once(conn, media, "thumb", by_address=True)
    claim(conn, "w")
    result = in_turn(
        database_url,
        lambda c: once(c, media, "thumb", by_address=False),
        lambda c: add_result(c, made["id"], "thumb result"),
    )
    assert media_marked(conn, result) is False


def test_the_same_bytes_made_by_name_are_no_longer_a_copy(conn: Conn) -> None:
    media = insert_media(conn)
    thumb = once(conn, media, "thumb", by_address=True)
    named = once(conn, media, "same bytes by other operations", by_address=False)
    copy = add_result(conn, thumb["id"], "bytes")
    assert media_marked(conn, copy) is True
    assert add_result(conn, named["id"], "bytes") == copy
    assert media_marked(conn, copy) is False


def test_the_same_bytes_uploaded_through_a_presigned_url_are_no_longer_a_copy(
    conn: Conn,
) -> None:
    media = insert_media(conn)
    thumb = once(conn, media, "thumb", by_address=True)
    copy = add_result(conn, thumb["id"], "bytes")
    pending = conn.execute(
        "SELECT id FROM editroom.create_pending_media('mine.webp', 1, interval '1 hour')"
    ).fetchone()
    assert pending is not None
    row = conn.execute(
        """SELECT (c.media).id FROM editroom.complete_pending_media(
               %s, 'image', 'image/webp', 1, %s, 'pending/mine') AS c""",
        [pending["id"], hashlib.sha256(b"bytes").hexdigest()],
    ).fetchone()
    assert row == {"id": copy}
    assert media_marked(conn, copy) is False


def test_retry_refusal_of_no_edit_is_a_refusal(conn: Conn) -> None:
    """What enqueue_edit_once_admitted answers when admission made nothing: no `retryable`."""
    row = conn.execute("SELECT editroom.retry_refusal(NULL::editroom.edits) AS why").fetchone()
    assert row == {"why": "there is no edit to retry"}


def test_a_marked_edit_gone_before_its_mark_is_cleared_is_made_anew(conn: Conn) -> None:
    """Found, then gone before unmark_by_address (deleted meanwhile): the request makes the
    edit anew rather than answer with no edit. Here identical_edit is made to find an edit
    that is no longer there, as it would have just before the deletion committed."""
    media = insert_media(conn)
    conn.execute(
        """CREATE OR REPLACE FUNCTION editroom.identical_edit(
               p_edit_key text, p_fresh boolean DEFAULT false)
           RETURNS editroom.edits LANGUAGE plpgsql AS $$
           DECLARE gone editroom.edits;
           BEGIN gone.id := gen_random_uuid(); gone.by_address := true; RETURN gone; END $$"""
    )

    made = once(conn, media, "gone", by_address=False)

    assert made["id"] is not None and not made["reused"]
    assert not marked(conn, made["id"])
