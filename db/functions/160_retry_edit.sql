CREATE OR REPLACE FUNCTION editroom.retry_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    -- An archived edit comes back to edits to run again. One being archived now: its row lock
    -- is waited for, the row is gone, and it is brought back from history then.
    IF NOT editroom.restore_archived_edit(p_id) THEN
        PERFORM 1 FROM editroom.edits WHERE id = p_id FOR UPDATE;
        IF NOT FOUND THEN
            PERFORM editroom.restore_archived_edit(p_id);
        END IF;
    END IF;
    v_edit := editroom.lock_edit(p_id);
    IF v_edit.status NOT IN ('failed', 'cancelled') THEN
        RAISE EXCEPTION 'edit % is %, not failed or cancelled', p_id, v_edit.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- A session runs one step at a time: a retried step waits until the others have finished.
    IF v_edit.session_id IS NOT NULL THEN
        PERFORM editroom.lock_settled_session(v_edit.session_id);  -- this one is not to run
    END IF;

    -- A session step reads its parent's output: it can only run again after the parent.
    IF EXISTS (SELECT 1 FROM editroom.edits p
                WHERE p.id = v_edit.parent_edit_id AND p.status <> 'completed') THEN
        RAISE EXCEPTION 'edit % follows edit % in its session, which has not completed; retry that one first',
            p_id, v_edit.parent_edit_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    UPDATE editroom.edits
       SET status = 'queued',
           media_id = coalesce(media_id, (SELECT coalesce(p.outputs[1], p.media_id)
                                            FROM editroom.edits p WHERE p.id = parent_edit_id)),
           max_trials = greatest(max_trials, trial + 1),
           run_after = now(),
           progress = NULL,
           error = NULL,
           finished_at = NULL
     WHERE id = p_id
    RETURNING * INTO v_edit;
    IF v_edit.kind IS NULL THEN
        -- Finished before lanes existed, or a step that never got its input: its lane now.
        UPDATE editroom.edits e
           SET kind = coalesce((SELECT m.kind::text FROM editroom.media m
                                 WHERE m.id = e.media_id),
                               CASE WHEN e.ops -> 0 ->> 'op' = 'import' THEN 'import' END)
         WHERE e.id = p_id
        RETURNING * INTO v_edit;
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.retry_edit(uuid) IS
'A DBA''s lever: puts a failed or cancelled edit p_id back in the queue now, allowing at least '
'one more trial; an archived one (edit_history) is moved back first. Earlier attempts stay in '
'edit_attempts. A session step is retried only when its '
'parent has completed and no other step of its session is still to run; it becomes the head '
'when it completes.';
