CREATE OR REPLACE FUNCTION editroom.complete_edits(
    p_worker text,
    p_results jsonb,
    p_trials jsonb DEFAULT NULL
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
    v_completed uuid[] := '{}';
    v_missing uuid;
BEGIN
    IF p_results IS NULL OR jsonb_typeof(p_results) <> 'object' THEN
        RAISE EXCEPTION 'p_results must be a JSON object {"<edit id>": [<output media ids>]}'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_trials IS NOT NULL AND jsonb_typeof(p_trials) <> 'object' THEN
        RAISE EXCEPTION 'p_trials must be a JSON object {"<edit id>": <trial>} or NULL'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_each(p_results) r WHERE jsonb_typeof(r.value) <> 'array') THEN
        RAISE EXCEPTION 'every value of p_results must be an array of output media ids'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Durable even in a session that commits asynchronously (runners do): the end of an
    -- attempt must survive a crash; what came before it in the WAL is flushed with it.
    PERFORM set_config('synchronous_commit', 'on', true);
    -- Session steps' sessions first, then the steps (020_held_edits.sql says why).
    PERFORM editroom.lock_sessions_of(ARRAY(SELECT r.key::uuid FROM jsonb_each(p_results) r));
    -- One statement for the whole batch: one trigger run, one round trip for the runner.
    FOR v_edit IN
        UPDATE editroom.edits e
           SET status = 'completed',
               outputs = ARRAY(SELECT jsonb_array_elements_text(r.value)::uuid),
               progress = 1,
               error = NULL,
               locked_by = NULL,
               lease_until = NULL,
               finished_at = now()
          FROM jsonb_each(p_results) r
         WHERE e.id = r.key::uuid
           AND editroom.edit_held(e.status, e.locked_by, e.trial, p_worker,
                                  (p_trials ->> r.key)::integer)
        RETURNING e.*
    LOOP
        v_completed := v_completed || v_edit.id;
        RETURN NEXT v_edit;
    END LOOP;

    SELECT r.key::uuid INTO v_missing
      FROM jsonb_object_keys(p_results) AS r (key)
     WHERE r.key::uuid <> ALL (v_completed)
     LIMIT 1;
    IF FOUND THEN
        -- Raising undoes the whole batch: all or nothing.
        PERFORM editroom.raise_not_held(v_missing, p_worker, (p_trials ->> v_missing::text)::integer);
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.complete_edits(text, jsonb, jsonb) IS
'Batch form of complete_edit: p_results maps edit ids to arrays of output media ids, p_trials '
'(optional) edit ids to the trial claim_edits returned. Completes all of them in one statement, '
'or none if p_worker does not hold one of them in that trial (raises naming it).';

CREATE OR REPLACE FUNCTION editroom.complete_edit(
    p_id uuid,
    p_worker text,
    p_outputs uuid[],
    p_trial integer DEFAULT NULL
)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    SELECT * INTO v_edit
      FROM editroom.complete_edits(
          p_worker, jsonb_build_object(p_id::text, to_jsonb(coalesce(p_outputs, '{}'::uuid[]))),
          CASE WHEN p_trial IS NOT NULL THEN jsonb_build_object(p_id::text, p_trial) END
      );
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.complete_edit(uuid, text, uuid[], integer) IS
'Marks edit p_id, held by p_worker in trial p_trial (the one claim_edits returned; any when '
'NULL), completed with output media p_outputs and returns it. Raises when the edit does not '
'exist, is not processing, another worker holds it, or it is in another trial.';
