-- Whether an edit can be retried now, and may then end otherwise: the one rule, read by
-- retry_edit (which refuses with its words) and by every API answer (an edit's `retryable`).
CREATE OR REPLACE FUNCTION editroom.retry_refusal(p_edit editroom.edits)
RETURNS text
LANGUAGE plpgsql
VOLATILE  -- sees what its own statement changed first: cancel_edit's answer, the steps after
AS $$
DECLARE
    v_parent editroom.edit_status;
BEGIN
    IF p_edit.id IS NULL THEN  -- nothing made or found: nothing to retry
        RETURN 'there is no edit to retry';
    END IF;
    IF p_edit.status NOT IN ('failed', 'cancelled') THEN
        RETURN format('edit %s is %s, not failed or cancelled', p_edit.id, p_edit.status);
    END IF;
    -- The runner's verdict: the same work on the same source would fail the same way.
    IF p_edit.fails_alike THEN
        RETURN format('edit %s failed in a way trying again would not change (%s); change its '
                      'operations or its source and make a new edit', p_edit.id, p_edit.error);
    END IF;
    -- A session runs one step at a time: a retried step waits until the others have finished.
    IF p_edit.session_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM editroom.edits e
                    WHERE e.session_id = p_edit.session_id
                      AND editroom.edit_still_to_run(e.status)) THEN
        RETURN format('session %s has edits still to run; try again once they have finished',
                      p_edit.session_id);
    END IF;
    -- A session step reads its parent's output: it can only run again after the parent.
    IF p_edit.parent_edit_id IS NOT NULL THEN
        SELECT p.status INTO v_parent FROM editroom.find_edit(p_edit.parent_edit_id) p;
        IF v_parent IS NULL THEN  -- pruned: what it would read is gone with it
            RETURN format('edit %s follows edit %s in its session, which no longer exists '
                          '(pruned); make a new edit', p_edit.id, p_edit.parent_edit_id);
        END IF;
        IF v_parent <> 'completed' THEN
            RETURN format('edit %s follows edit %s in its session, which has not completed; '
                          'retry that one first', p_edit.id, p_edit.parent_edit_id);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.retry_refusal(editroom.edits) IS
'Why retry_edit would refuse edit row p_edit now, in its words; NULL when it would accept it '
'and it may then end otherwise (the API''s `retryable`: retry_refusal(e) IS NULL). Refused: '
'not failed or cancelled; failed with fails_alike (the runner said the same work fails the '
'same way); a session step while another step of its session is still to run, or whose '
'parent has not completed. Accepted: cancelled; failed on its last trial (a retryable '
'failure, a lost runner); a step failed before it ran, once its parent has completed.';

CREATE OR REPLACE FUNCTION editroom.retry_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
    v_refusal text;
BEGIN
    -- A step's session before the step, as whatever ends a step takes them (020_held_edits.sql).
    PERFORM editroom.lock_sessions_of(ARRAY[p_id]);
    -- An archived edit comes back to edits to run again. One being archived now: its row lock
    -- is waited for, the row is gone, and it is brought back from history then.
    IF NOT editroom.restore_archived_edit(p_id) THEN
        PERFORM 1 FROM editroom.edits WHERE id = p_id FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM editroom.restore_archived_edit(p_id);
        END IF;
    END IF;
    v_edit := editroom.lock_edit(p_id);
    -- Locked, no step is added to its session (nor undo, redo, another retry) until we commit.
    IF v_edit.session_id IS NOT NULL THEN
        PERFORM editroom.lock_session(v_edit.session_id);
    END IF;
    v_refusal := editroom.retry_refusal(v_edit);
    IF v_refusal IS NOT NULL THEN
        RAISE EXCEPTION '%', v_refusal USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- e.parent_edit_id, qualified: unqualified, the subquery read its own row's (p's).
    UPDATE editroom.edits e
       SET status = 'queued',
           media_id = coalesce(e.media_id, (SELECT m.id
                                              FROM editroom.find_edit(e.parent_edit_id) p
                                              JOIN editroom.media m
                                                ON m.id = coalesce(p.outputs[1], p.media_id))),
           max_trials = greatest(max_trials, trial + 1),
           run_after = now(),
           progress = NULL,
           error = NULL,
           fails_alike = false,
           finished_at = NULL
     WHERE e.id = p_id
    RETURNING e.* INTO v_edit;
    IF v_edit.kind IS NULL THEN
        -- Finished before lanes existed, or a step that never got its input: its lane now.
        UPDATE editroom.edits e
           SET kind = coalesce((SELECT m.kind::text FROM editroom.media m
                                 WHERE m.id = e.media_id),
                               CASE WHEN e.ops -> 0 ->> 'op' = 'import' THEN 'import' END)
         WHERE e.id = p_id
        RETURNING * INTO v_edit;
    END IF;
    -- Nothing to read (its input, or the output of the step it follows, was deleted since):
    -- queued, it would be in no lane, and no runner would ever take it.
    IF v_edit.kind IS NULL THEN
        RAISE EXCEPTION 'edit % cannot run again: the media it reads no longer exists; make a '
            'new edit', p_id USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.retry_edit(uuid) IS
'A DBA''s lever: puts a failed or cancelled edit p_id back in the queue now, allowing at least '
'one more trial; an archived one (edit_history) is moved back first. Earlier attempts stay in '
'edit_attempts. Refuses, in retry_refusal''s words, what would fail the same way (fails_alike) '
'and a session step until its parent has completed and no other step of its session is '
'still to run; a step retried becomes the head when it completes. To run a fails_alike edit '
'regardless (its source replaced by hand), UPDATE it SET fails_alike = false first.';
