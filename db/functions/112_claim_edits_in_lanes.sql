CREATE OR REPLACE FUNCTION editroom.claim_edits_in_lanes(
    p_worker text,
    p_kinds text[],
    p_limits integer[],
    p_lease interval DEFAULT '5 minutes'
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_image integer;
    v_video integer;
    v_import integer;
BEGIN
    -- The checks claim_edits and heartbeat_edits make too are written out here, not shared
    -- through helpers: on the runners' path each call of one (its search_path set and reset)
    -- costs about 2 us, and the two took a claim that finds nothing from 41 to 45 us.
    IF coalesce(p_worker, '') = '' THEN
        RAISE EXCEPTION 'p_worker must name the worker claiming edits'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_kinds IS NULL OR p_limits IS NULL
       OR cardinality(p_kinds) <> cardinality(p_limits) THEN
        RAISE EXCEPTION 'p_kinds and p_limits must be arrays of one length, got % and %',
            p_kinds, p_limits USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(p_kinds, p_limits) AS l (kind, n)
                WHERE kind IS NULL OR kind NOT IN ('image', 'video', 'import')
                   OR n IS NULL OR n < 0) THEN
        RAISE EXCEPTION 'each lane must be image, video or import, with a limit of at least 0 '
            'each, got % and %', p_kinds, p_limits
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    v_image := coalesce(p_limits[array_position(p_kinds, 'image')], 0);
    v_video := coalesce(p_limits[array_position(p_kinds, 'video')], 0);
    v_import := coalesce(p_limits[array_position(p_kinds, 'import')], 0);

    -- A lane per kind: a runner whose import slots are all taken still claims images, and
    -- one whose image slots are full still claims an import. Each lane walks its own partial
    -- index (edits_<kind>_claimable_idx: the kind is a column set at enqueue, so no candidate
    -- costs a look-up of its media) in claim_edits' order and stops at its limit; the kind
    -- is written as a constant in each branch so that the planner matches that index, and
    -- an empty lane reads nothing of the others. So the three branches stay three: written
    -- once over the lanes (a LATERAL sub-select per row of VALUES (kind, limit)), the kind
    -- is a value known only at run time, no partial index's predicate can be proved, and
    -- each lane walks edits_claimable_idx filtered by kind, reading every claimable edit of
    -- the other kinds when its own is empty; dynamic SQL would plan each claim anew. As in
    -- claim_edits, the trial is counted here and fences the attempt. The ids come as one
    -- array, so the UPDATE finds each by its primary key.
    RETURN QUERY
    UPDATE editroom.edits e
       SET status = 'processing',
           trial = e.trial + 1,
           locked_by = p_worker,
           lease_until = now() + p_lease,
           started_at = now(),
           progress = 0
     WHERE e.id = ANY (ARRAY(
         SELECT i.id FROM (
             SELECT w.id FROM editroom.edits w
              WHERE w.kind = 'image'
                AND editroom.edit_claimable(w.status, w.blocked_by, w.run_after)
              ORDER BY w.priority DESC, w.run_after, w.id
              LIMIT v_image
                FOR UPDATE SKIP LOCKED) AS i
         UNION ALL
         SELECT v.id FROM (
             SELECT w.id FROM editroom.edits w
              WHERE w.kind = 'video'
                AND editroom.edit_claimable(w.status, w.blocked_by, w.run_after)
              ORDER BY w.priority DESC, w.run_after, w.id
              LIMIT v_video
                FOR UPDATE SKIP LOCKED) AS v
         UNION ALL
         SELECT m.id FROM (
             SELECT w.id FROM editroom.edits w
              WHERE w.kind = 'import'
                AND editroom.edit_claimable(w.status, w.blocked_by, w.run_after)
              ORDER BY w.priority DESC, w.run_after, w.id
              LIMIT v_import
                FOR UPDATE SKIP LOCKED) AS m))
    RETURNING e.*;
END
$$;

COMMENT ON FUNCTION editroom.claim_edits_in_lanes(text, text[], integer[], interval) IS
'Claims for worker p_worker, in one statement, up to p_limits[i] claimable edits of kind '
'p_kinds[i] (image, video or import: the edit''s kind column) for each i, each kind in '
'claim_edits'' order over its own index (priority, then claimable longest), skipping rows other claimers hold. '
'Runners call it with the free slots of each lane, so a lane that is full never stops the '
'others. Each claimed edit becomes processing with trial + 1 and a lease of p_lease; returns '
'the claimed rows.';
