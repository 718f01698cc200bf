CREATE OR REPLACE FUNCTION editroom.fail_edit(
    p_id uuid,
    p_worker text,
    p_error text,
    p_retryable boolean DEFAULT true,
    p_trial integer DEFAULT NULL
)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
    v_retry boolean;
BEGIN
    -- Durable even in a session that commits asynchronously (runners do): the end of an
    -- attempt must survive a crash; what came before it in the WAL is flushed with it.
    PERFORM set_config('synchronous_commit', 'on', true);
    v_edit := editroom.lock_held_edit(p_id, p_worker, p_trial);
    v_retry := coalesce(p_retryable, true) AND v_edit.trial < v_edit.max_trials;

    UPDATE editroom.edits
       SET status = CASE WHEN v_retry THEN 'error' ELSE 'failed' END::editroom.edit_status,
           run_after = CASE WHEN v_retry THEN now() + editroom.backoff_delay(v_edit.trial)
                            ELSE run_after END,
           finished_at = CASE WHEN v_retry THEN NULL ELSE now() END,
           error = coalesce(nullif(p_error, ''), 'failed without a reason'),
           -- The runner's verdict, kept: retry_refusal tells it from trials run out.
           fails_alike = NOT coalesce(p_retryable, true),
           locked_by = NULL,
           lease_until = NULL
     WHERE id = p_id
    RETURNING * INTO v_edit;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.fail_edit(uuid, text, text, boolean, integer) IS
'Ends the attempt of p_worker on edit p_id (trial p_trial, as claimed; any when NULL) with error '
'p_error. Retryable and trials left: '
'status error, claimable again after backoff_delay(trial). Otherwise (p_retryable false, or '
'the last allowed trial): status failed. p_retryable false also sets fails_alike (the same '
'work fails the same way), which retry_edit refuses. Raises when that attempt does not hold '
'the edit.';
