-- Editing sessions: a line of steps over one media, a head that completed steps move and
-- undo/redo move back and forth without running anything again.

CREATE OR REPLACE FUNCTION editroom.open_session(p_media_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM editroom.media WHERE id = p_media_id AND status = 'ready') THEN
        RAISE EXCEPTION 'media % does not exist', p_media_id USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO editroom.sessions (media_id) VALUES (p_media_id) RETURNING * INTO v_session;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.open_session(uuid) IS
'Opens an editing session on media p_media_id; its head is the original until a step completes.';

CREATE OR REPLACE FUNCTION editroom.lock_session(p_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
BEGIN
    SELECT * INTO v_session FROM editroom.sessions WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'session % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.lock_session(uuid) IS
'Locks session p_id (steps are numbered and the head moved one caller at a time); raises when it '
'does not exist.';

CREATE OR REPLACE FUNCTION editroom.session_head_media(p_id uuid)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(h.outputs[1], h.media_id, s.media_id)
      FROM editroom.sessions s
      LEFT JOIN editroom.edits h ON h.id = s.head_edit_id
     WHERE s.id = p_id;
$$;

COMMENT ON FUNCTION editroom.session_head_media(uuid) IS
'The media session p_id''s next edit reads: its head step''s (first) output, or the original.';

CREATE OR REPLACE FUNCTION editroom.next_session_step(p_session_id uuid)
RETURNS TABLE (step integer, media_id uuid, parent_edit_id uuid, blocked_by uuid)
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
    v_tip uuid;
BEGIN
    -- The session first, then what is read under its lock: whatever ends a step takes the
    -- session before the step (lock_sessions_of), so the step this one will wait for cannot
    -- change until it is committed, and then its end sees this one (and ends it too, or hands
    -- it its input). A step read here is thus never one being changed by a transaction
    -- waiting for this lock: the foreign key of the new step's blocked_by never waits on it.
    v_session := editroom.lock_session(p_session_id);
    SELECT coalesce(max(e.session_step), 0) + 1 INTO step
      FROM editroom.edits e WHERE e.session_id = p_session_id;
    -- The newest step still to run: the new one waits for its output.
    SELECT e.id INTO v_tip
      FROM editroom.edits e
     WHERE e.session_id = p_session_id AND editroom.edit_still_to_run(e.status)
     ORDER BY e.session_step DESC
     LIMIT 1;
    IF v_tip IS NOT NULL THEN
        parent_edit_id := v_tip;
        blocked_by := v_tip;
        media_id := NULL;  -- known once the tip completes
    ELSE
        parent_edit_id := v_session.head_edit_id;
        blocked_by := NULL;
        media_id := editroom.session_head_media(p_session_id);
    END IF;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION editroom.next_session_step(uuid) IS
'Where session p_session_id''s next edit goes: its step number, the media it reads (NULL while '
'it must wait), the step it follows and the step it waits for. Locks the session.';

CREATE OR REPLACE FUNCTION editroom.enqueue_session_edit(
    p_session_id uuid,
    p_ops jsonb,
    p_follows_edit_id uuid,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0,
    OUT edit editroom.edits,
    OUT follows_edit_id uuid
)
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM editroom.check_edit_arguments(p_ops, p_max_trials);
    -- next_session_step locks the session until the transaction ends: no other step is added,
    -- and no undo or redo moves the head, between the check below and the insert.
    SELECT s.parent_edit_id INTO follows_edit_id FROM editroom.next_session_step(p_session_id) s;
    -- The caller chose the operations (parsed for the kind the step reads, refused if it reads
    -- sound alone) from the session as it read it: the step it would follow then. Another
    -- step added since, or the one followed failed, may leave it reading something else, so
    -- nothing is made (edit NULL) and the caller plans again. The step followed completing
    -- changes nothing: it becomes the head, and the new step still follows it.
    IF follows_edit_id IS DISTINCT FROM p_follows_edit_id THEN
        RETURN;
    END IF;
    -- The step as enqueue_edit makes every session step (the lock is held already).
    edit := editroom.enqueue_edit(
        p_media_id => NULL, p_ops => p_ops, p_session_id => p_session_id,
        p_max_trials => p_max_trials, p_priority => p_priority);
END
$$;

COMMENT ON FUNCTION editroom.enqueue_session_edit(uuid, jsonb, uuid, integer, integer) IS
'Queues session p_session_id''s next step, running p_ops (a JSON array), if it follows step '
'p_follows_edit_id (NULL: the original): the newest step of the session still to run, else '
'its head, as the caller saw them when it chose p_ops. Returns the edit and the step it '
'follows; when the session has moved on (another step added, the one followed failed, undo '
'or redo), nothing is made: edit is NULL and follows_edit_id says what a new step would '
'follow now, to check p_ops against again. What POST /edit?session= calls. p_max_trials and '
'p_priority as enqueue_edit''s.';

CREATE OR REPLACE FUNCTION editroom.lock_settled_session(p_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
BEGIN
    v_session := editroom.lock_session(p_id);
    IF EXISTS (SELECT 1 FROM editroom.edits
                WHERE session_id = p_id AND editroom.edit_still_to_run(status)) THEN
        RAISE EXCEPTION 'session % has edits still to run; try again once they have finished',
            p_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.lock_settled_session(uuid) IS
'Locks session p_id for undo or redo; raises while any of its edits is still '
'to run.';

CREATE OR REPLACE FUNCTION editroom.undo_session(p_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
BEGIN
    v_session := editroom.lock_settled_session(p_id);
    IF v_session.head_edit_id IS NULL THEN
        RAISE EXCEPTION 'session % is at its original; there is nothing to undo', p_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- A completed step's parent is a completed step too (or the original).
    UPDATE editroom.sessions s
       SET head_edit_id = (SELECT e.parent_edit_id FROM editroom.edits e
                            WHERE e.id = s.head_edit_id),
           updated_at = now()
     WHERE s.id = p_id
    RETURNING * INTO v_session;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.undo_session(uuid) IS
'Moves session p_id''s head back one step, running nothing. Raises at the original, or while '
'edits of the session are still to run.';

-- Redo's choice, written once: the newest completed step made on the step it stands at (the
-- original: NULL), what the last undo stepped back from or what was made after it. A step's
-- children are found by edits_parent_idx: IS NOT DISTINCT FROM uses no index, so each call
-- read the session's steps from its newest down, and session_line's walk forward from a head
-- undone far back read the session once per step (a million rows at 1,000 steps).
CREATE OR REPLACE FUNCTION editroom.redo_step(p_session_id uuid, p_from uuid)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT c.id
      FROM ((SELECT e.id, e.session_step
               FROM editroom.edits e
              WHERE p_from IS NOT NULL AND e.parent_edit_id = p_from
                AND e.session_id = p_session_id AND e.status = 'completed'
              ORDER BY e.session_step DESC
              LIMIT 1)
            UNION ALL
            (SELECT e.id, e.session_step
               FROM editroom.edits e
              WHERE p_from IS NULL AND e.parent_edit_id IS NULL
                AND e.session_id = p_session_id AND e.status = 'completed'
              ORDER BY e.session_step DESC
              LIMIT 1)) AS c
     LIMIT 1;
$$;

COMMENT ON FUNCTION editroom.redo_step(uuid, uuid) IS
'The step redo moves session p_session_id''s head to from step p_from (NULL: the original): '
'the newest completed step made on it; NULL when there is none.';

CREATE OR REPLACE FUNCTION editroom.redo_session(p_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
    v_next uuid;
BEGIN
    v_session := editroom.lock_settled_session(p_id);
    v_next := editroom.redo_step(p_id, v_session.head_edit_id);
    IF v_next IS NULL THEN
        RAISE EXCEPTION 'session % has nothing to redo', p_id
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE editroom.sessions SET head_edit_id = v_next, updated_at = now()
     WHERE id = p_id
    RETURNING * INTO v_session;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.redo_session(uuid) IS
'Moves session p_id''s head forward to the newest completed step after it, running nothing. '
'Raises when there is none, or while edits of the session are still to run.';

CREATE OR REPLACE FUNCTION editroom.session_line(p_id uuid)
RETURNS SETOF uuid
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_at uuid;
BEGIN
    SELECT s.head_edit_id INTO v_at FROM editroom.sessions s WHERE s.id = p_id;
    -- Back: the head and the steps it was made on (a completed step's parent completed too).
    RETURN QUERY
        WITH RECURSIVE back (id, parent_edit_id) AS (
            SELECT e.id, e.parent_edit_id FROM editroom.edits e WHERE e.id = v_at
            UNION ALL
            SELECT e.id, e.parent_edit_id FROM editroom.edits e JOIN back b ON e.id = b.parent_edit_id
        )
        SELECT back.id FROM back;
    -- Forward: what redo would reach, again and again (each step newer than the last).
    LOOP
        v_at := editroom.redo_step(p_id, v_at);
        EXIT WHEN v_at IS NULL;
        RETURN NEXT v_at;
    END LOOP;
END
$$;

COMMENT ON FUNCTION editroom.session_line(uuid) IS
'The completed steps of session p_id that undo and redo can reach from its head: back along '
'the steps the head was made on, forward along redo''s choice (redo_step). A completed step '
'not among them was undone and another step made in its place: abandoned (StepOut.abandoned).';

CREATE OR REPLACE FUNCTION editroom.delete_session(p_id uuid)
RETURNS editroom.sessions
LANGUAGE plpgsql
AS $$
DECLARE
    v_session editroom.sessions;
BEGIN
    v_session := editroom.lock_session(p_id);
    -- Cancelling the first step still to run cancels the ones after it
    -- (edits_after_update_sessions, below).
    PERFORM editroom.cancel_edit(e.id)
       FROM editroom.edits e
      WHERE e.session_id = p_id AND editroom.edit_still_to_run(e.status)
        AND e.blocked_by IS NULL;
    DELETE FROM editroom.sessions WHERE id = p_id;
    RETURN v_session;
END
$$;

COMMENT ON FUNCTION editroom.delete_session(uuid) IS
'Deletes session p_id, cancelling its edits still to run. Its finished edits stay, without a '
'session.';

-- A session's steps, whatever finished one (a runner, cancel_edit, the reaper, a DBA's UPDATE):
-- a completed step becomes its session's head and hands its output to the step waiting for it;
-- a failed or cancelled step takes the steps after it down too, all of them at once. It fires
-- after edits_after_update (triggers of one event fire in name order); neither reads what the
-- other writes.
CREATE OR REPLACE FUNCTION editroom.edits_after_update_sessions()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    -- Statement triggers fire for every update, heartbeats and updates of no rows included.
    IF NOT EXISTS (SELECT 1 FROM new_edits n JOIN old_edits o ON o.id = n.id
                    WHERE n.session_id IS NOT NULL AND n.status <> o.status
                      AND NOT editroom.edit_still_to_run(n.status)) THEN
        RETURN NULL;
    END IF;
    -- The sessions' locks, whatever ended the steps: a step being added to one of them
    -- (next_session_step) holds its session's lock until it commits, so the reads below see
    -- it, and hand it its input or end it with the step it waits for. Without it, a step added
    -- as the one it follows failed or was cancelled waited for it for ever. The functions that
    -- end steps hold them already (lock_sessions_of, taken before the step); an UPDATE of a
    -- step by hand takes them here.
    PERFORM 1
       FROM editroom.sessions s
      WHERE s.id IN (SELECT n.session_id FROM new_edits n JOIN old_edits o ON o.id = n.id
                      WHERE n.session_id IS NOT NULL AND n.status <> o.status
                        AND NOT editroom.edit_still_to_run(n.status))
      ORDER BY s.id
        FOR UPDATE;

    UPDATE editroom.sessions s
       SET head_edit_id = n.id, updated_at = now()
      FROM new_edits n
      JOIN old_edits o ON o.id = n.id
     WHERE s.id = n.session_id AND n.status = 'completed' AND o.status <> 'completed';

    UPDATE editroom.edits c
       SET blocked_by = NULL,
           media_id = coalesce(n.outputs[1], n.media_id),
           kind = (SELECT m.kind::text FROM editroom.media m
                    WHERE m.id = coalesce(n.outputs[1], n.media_id))
      FROM new_edits n
      JOIN old_edits o ON o.id = n.id
     WHERE c.blocked_by = n.id AND n.status = 'completed' AND o.status <> 'completed';

    -- Every step behind an ended one, in one statement however many: each waits for the one
    -- before it (blocked_by), so they are found along that chain here, not a generation per
    -- nested trigger (which ran out of stack past a few hundred steps). Each names the step
    -- that ended first and why; the steps it ends fire this trigger once more, and find no
    -- step behind them.
    WITH RECURSIVE ended AS (
        SELECT n.id, n.session_step, n.status, n.error
          FROM new_edits n
          JOIN old_edits o ON o.id = n.id
         WHERE n.status IN ('failed', 'cancelled') AND o.status <> n.status
    ), behind (id, ended_id) AS (
        -- Still to run only: a step cancelled while it waited keeps its blocked_by, and its
        -- cancelling already ended the steps behind it.
        SELECT c.id, e.id FROM editroom.edits c JOIN ended e ON c.blocked_by = e.id
         WHERE editroom.edit_still_to_run(c.status)
        UNION ALL
        SELECT c.id, b.ended_id FROM editroom.edits c JOIN behind b ON c.blocked_by = b.id
         WHERE editroom.edit_still_to_run(c.status)
    )
    UPDATE editroom.edits c
       SET status = e.status,
           blocked_by = NULL,
           finished_at = now(),
           error = format('step %s of the session (edit %s) %s%s', e.session_step, e.id,
                          e.status, coalesce(': ' || e.error, ''))
      FROM behind b
      JOIN ended e ON e.id = b.ended_id
     WHERE c.id = b.id;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_update_sessions() IS
'Statement trigger on edits, for sessions: when a step completes, moves its session''s head to '
'it and unblocks the next step with its output to read; when a step fails or is cancelled, '
'fails or cancels the steps after it, naming the step and the reason.';

CREATE OR REPLACE TRIGGER edits_after_update_sessions
    AFTER UPDATE ON editroom.edits
    REFERENCING OLD TABLE AS old_edits NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_update_sessions();
