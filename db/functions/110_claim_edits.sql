CREATE OR REPLACE FUNCTION editroom.claim_edits(
    p_worker text,
    p_limit integer DEFAULT 1,
    p_lease interval DEFAULT '5 minutes'
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
BEGIN
    IF coalesce(p_worker, '') = '' THEN
        RAISE EXCEPTION 'p_worker must name the worker claiming edits'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_limit IS NULL OR p_limit < 1 THEN
        RAISE EXCEPTION 'p_limit must be at least 1, got %', p_limit
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- The trial is counted here, at claim time: an edit that kills its worker still uses one.
    -- It is also the attempt's fence: heartbeat, complete, fail and release take it back.
    -- Oldest claimable first: run_after is when it was queued or when its back-off ended, so
    -- edits still in back-off sort after every due edit of their priority and the scan of
    -- edits_claimable_idx stops at the LIMIT before it reaches them.
    RETURN QUERY
    WITH claimable AS (
        SELECT e.id
          FROM editroom.edits e
         WHERE editroom.edit_claimable(e.status, e.blocked_by, e.run_after)
         ORDER BY e.priority DESC, e.run_after, e.id
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    UPDATE editroom.edits e
       SET status = 'processing',
           trial = e.trial + 1,
           locked_by = p_worker,
           lease_until = now() + p_lease,
           started_at = now(),
           progress = 0
      FROM claimable c
     WHERE e.id = c.id
    RETURNING e.*;
END
$$;

COMMENT ON FUNCTION editroom.claim_edits(text, integer, interval) IS
'Claims up to p_limit claimable edits (queued, or error past its back-off, and not waiting for '
'an earlier step of its session) for worker p_worker, '
'highest priority first, then the one claimable longest (run_after: queued, or its back-off '
'over), skipping rows other claimers hold. Each becomes processing with trial + 1 and a lease '
'of p_lease, which heartbeat_edit extends. Returns the claimed rows; their trial fences the '
'attempt (pass it to heartbeat_edit, complete_edit, fail_edit, release_edit).';

CREATE OR REPLACE FUNCTION editroom.claim_edit(
    p_id uuid,
    p_worker text,
    p_lease interval DEFAULT '5 minutes'
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
BEGIN
    IF coalesce(p_worker, '') = '' THEN
        RAISE EXCEPTION 'p_worker must name the worker claiming the edit'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A DBA working one edit by hand must get that edit, never whatever else is queued.
    RETURN QUERY
    UPDATE editroom.edits e
       SET status = 'processing',
           trial = e.trial + 1,
           locked_by = p_worker,
           lease_until = now() + p_lease,
           started_at = now(),
           progress = 0
     WHERE e.id = (SELECT c.id FROM editroom.edits c
                    WHERE c.id = p_id
                      AND editroom.edit_claimable(c.status, c.blocked_by, c.run_after)
                      FOR UPDATE SKIP LOCKED)
    RETURNING e.*;
END
$$;

COMMENT ON FUNCTION editroom.claim_edit(uuid, text, interval) IS
'Claims edit p_id, and only it, for worker p_worker when it is claimable now (as claim_edits '
'would, trial + 1, lease p_lease); no row when it is not (a runner took it first, it waits '
'for its back-off or an earlier session step, or it is finished). For working an edit by hand.';
