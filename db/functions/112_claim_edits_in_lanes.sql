CREATE OR REPLACE FUNCTION editroom.claim_edits_in_lanes(
    p_worker text,
    p_kinds text[],
    p_limits integer[],
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
    IF p_kinds IS NULL OR p_limits IS NULL
       OR cardinality(p_kinds) <> cardinality(p_limits) THEN
        RAISE EXCEPTION 'p_kinds and p_limits must be arrays of one length, got % and %',
            p_kinds, p_limits USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_limits) AS l (n) WHERE n IS NULL OR n < 0) THEN
        RAISE EXCEPTION 'p_limits must be at least 0 each, got %', p_limits
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- A lane per kind: a runner whose import slots are all taken still claims images, and
    -- one whose image slots are full still claims an import. Each lane is its own walk of
    -- edits_lane_claimable_idx (kind, then claim_edits' order), stopping at its limit: the
    -- kind is a column set at enqueue, so no candidate costs a look-up of its media.
    -- As in claim_edits, the trial is counted here and fences the attempt.
    -- The ids come as one array, so the UPDATE finds each by its primary key: a join with
    -- the lateral's rows (estimated at unnest's 100 times an unknown LIMIT) would be planned
    -- as a hash join over a scan of all of edits.
    RETURN QUERY
    UPDATE editroom.edits e
       SET status = 'processing',
           trial = e.trial + 1,
           locked_by = p_worker,
           lease_until = now() + p_lease,
           started_at = now(),
           progress = 0
     WHERE e.id = ANY (ARRAY(
         SELECT c.id
           FROM unnest(p_kinds, p_limits) AS l (kind, n)
          CROSS JOIN LATERAL (
              SELECT w.id
                FROM editroom.edits w
               WHERE w.kind = l.kind
                 AND editroom.edit_claimable(w.status, w.blocked_by, w.run_after)
               ORDER BY w.priority DESC, w.run_after, w.id
               LIMIT l.n
                 FOR UPDATE SKIP LOCKED
          ) AS c
          WHERE l.n > 0))
    RETURNING e.*;
END
$$;

COMMENT ON FUNCTION editroom.claim_edits_in_lanes(text, text[], integer[], interval) IS
'Claims for worker p_worker, in one statement, up to p_limits[i] claimable edits of kind '
'p_kinds[i] (image, video or import: the edit''s kind column) for each i, each kind in '
'claim_edits'' order (priority, then claimable longest), skipping rows other claimers hold. '
'Runners call it with the free slots of each lane, so a lane that is full never stops the '
'others. Each claimed edit becomes processing with trial + 1 and a lease of p_lease; returns '
'the claimed rows.';
