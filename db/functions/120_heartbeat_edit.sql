CREATE OR REPLACE FUNCTION editroom.heartbeat_edit(
    p_id uuid,
    p_worker text,
    p_progress real DEFAULT NULL,
    p_lease interval DEFAULT '5 minutes'
)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_progress IS NOT NULL AND NOT (p_progress >= 0 AND p_progress <= 1) THEN
        RAISE EXCEPTION 'p_progress must be between 0 and 1, got %', p_progress
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Touches only unindexed columns, so the update can stay on its page (HOT).
    UPDATE editroom.edits
       SET lease_until = now() + p_lease,
           progress = coalesce(p_progress, progress)
     WHERE id = p_id AND status = 'processing' AND locked_by = p_worker;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION editroom.heartbeat_edit(uuid, text, real, interval) IS
'Extends the lease of edit p_id held by p_worker to now() + p_lease and records p_progress '
'(0..1) when given. Returns false when the worker no longer holds it (cancelled, reaped, or '
'claimed elsewhere): the worker must stop and drop its result.';
