CREATE OR REPLACE FUNCTION editroom.retry_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    v_edit := editroom.lock_edit(p_id);
    IF v_edit.status NOT IN ('failed', 'cancelled') THEN
        RAISE EXCEPTION 'edit % is %, not failed or cancelled', p_id, v_edit.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    UPDATE editroom.edits
       SET status = 'queued',
           max_trials = greatest(max_trials, trial + 1),
           run_after = now(),
           progress = NULL,
           error = NULL,
           finished_at = NULL
     WHERE id = p_id
    RETURNING * INTO v_edit;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.retry_edit(uuid) IS
'A DBA''s lever: puts a failed or cancelled edit p_id back in the queue now, allowing at least '
'one more trial. Earlier attempts stay in edit_attempts.';
