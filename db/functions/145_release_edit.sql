CREATE OR REPLACE FUNCTION editroom.release_edit(
    p_id uuid,
    p_worker text,
    p_trial integer DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    -- Durable even in a session that commits asynchronously (runners do): the end of an
    -- attempt must survive a crash; what came before it in the WAL is flushed with it.
    PERFORM set_config('synchronous_commit', 'on', true);
    -- The trial stays counted: it numbers the attempt (edit_attempts is keyed by it), and the
    -- next claim must open a new one. The allowance grows by one instead, so a runner shutting
    -- down never costs the edit one of its failures. The update trigger closes the attempt as
    -- released.
    UPDATE editroom.edits
       SET status = 'queued',
           max_trials = max_trials + 1,
           run_after = now(),
           progress = NULL,
           error = NULL,
           locked_by = NULL,
           lease_until = NULL
     WHERE id = p_id AND editroom.edit_held(status, locked_by, trial, p_worker, p_trial);
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION editroom.release_edit(uuid, text, integer) IS
'Hands edit p_id, held by p_worker in trial p_trial (any when NULL), back unfinished (a runner shutting down): it is queued and '
'claimable at once, with no back-off, and its attempt is recorded as released. The claim stays '
'counted in trial (attempts are numbered by it) but max_trials grows by one, so a release is '
'never charged as a failed trial. Returns false, changing nothing, when p_worker no longer '
'holds the edit in that trial (completed, cancelled, reaped, or claimed again).';
