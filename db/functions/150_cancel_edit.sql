CREATE OR REPLACE FUNCTION editroom.cancel_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    v_edit := editroom.lock_edit(p_id);
    IF v_edit.status = 'cancelled' THEN
        RETURN v_edit;  -- cancelling twice is asking for what is already true
    END IF;
    IF v_edit.status IN ('completed', 'failed') THEN
        RAISE EXCEPTION 'edit % is %, it can no longer be cancelled', p_id, v_edit.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;

    -- A processing edit loses its lease here; its worker learns at the next heartbeat.
    UPDATE editroom.edits
       SET status = 'cancelled',
           finished_at = now(),
           error = NULL,
           locked_by = NULL,
           lease_until = NULL
     WHERE id = p_id
    RETURNING * INTO v_edit;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.cancel_edit(uuid) IS
'Cancels edit p_id. queued or error: it will not run. processing: its worker stops at its next '
'heartbeat and its result is discarded. Already cancelled: returned unchanged. completed or '
'failed: raises.';
