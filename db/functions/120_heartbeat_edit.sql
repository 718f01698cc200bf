CREATE OR REPLACE FUNCTION editroom.heartbeat_edits(
    p_worker text,
    p_ids uuid[],
    p_trials integer[],
    p_progress real[],
    p_details jsonb[],
    p_lease interval DEFAULT '5 minutes'
)
RETURNS TABLE (id uuid, held boolean)
LANGUAGE plpgsql
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(p_progress) AS p (progress)
                WHERE NOT (p.progress >= 0 AND p.progress <= 1)) THEN
        RAISE EXCEPTION 'p_progress must be between 0 and 1, got %', p_progress
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_lease IS NULL OR p_lease <= interval '0' THEN
        RAISE EXCEPTION 'p_lease must be positive, got %', p_lease
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- One statement for everything the runner holds: one trigger run, and at most one
    -- progress notification per heartbeat however many edits moved. Touches only unindexed
    -- columns, so each row can stay on its page (HOT).
    RETURN QUERY
    WITH beats AS (
        SELECT * FROM unnest(p_ids, p_trials, p_progress, p_details)
                   AS b (id, trial, progress, detail)
    ), beaten AS (
        UPDATE editroom.edits e
           SET lease_until = now() + p_lease,
               progress = coalesce(b.progress, e.progress),
               progress_detail = coalesce(b.detail, e.progress_detail)
          FROM beats b
         WHERE e.id = b.id
           AND editroom.edit_held(e.status, e.locked_by, e.trial, p_worker, b.trial)
        RETURNING e.id
    )
    SELECT b.id, EXISTS (SELECT 1 FROM beaten x WHERE x.id = b.id) FROM beats b;
END
$$;

COMMENT ON FUNCTION editroom.heartbeat_edits(text, uuid[], integer[], real[], jsonb[], interval) IS
'A runner''s heartbeat of every edit it holds, in one statement: for each p_ids[i] held by '
'p_worker in trial p_trials[i] (any trial when NULL), extends the lease to now() + p_lease and '
'records progress p_progress[i] and progress detail p_details[i] when not NULL. Returns each '
'id with held false when that attempt no longer holds it: the worker must stop it.';

CREATE OR REPLACE FUNCTION editroom.heartbeat_edit(
    p_id uuid,
    p_worker text,
    p_progress real DEFAULT NULL,
    p_lease interval DEFAULT '5 minutes',
    p_trial integer DEFAULT NULL
)
RETURNS boolean
LANGUAGE sql
AS $$
    SELECT h.held
      FROM editroom.heartbeat_edits(p_worker, ARRAY[p_id], ARRAY[p_trial], ARRAY[p_progress],
                                    ARRAY[NULL::jsonb], p_lease) AS h;
$$;

COMMENT ON FUNCTION editroom.heartbeat_edit(uuid, text, real, interval, integer) IS
'Extends the lease of edit p_id held by p_worker (in trial p_trial, the one claim_edits '
'returned; any trial when NULL) to now() + p_lease and records p_progress (0..1) when given. '
'Returns false when that attempt no longer holds it (cancelled, reaped, or claimed again, even '
'by this worker): the worker must stop and drop its result.';
