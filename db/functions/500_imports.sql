-- Imports from a URL are jobs of the same queue: an edit with no source media whose one
-- operation is {"op": "import", "url": ..., "format": ..., "max_height": ...}.

CREATE OR REPLACE FUNCTION editroom.enqueue_import(
    p_request jsonb,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0
)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    IF p_request IS NULL OR p_request->>'op' IS DISTINCT FROM 'import'
       OR coalesce(p_request->>'url', '') !~* '^https?://' THEN
        RAISE EXCEPTION 'p_request must be {"op": "import", "url": "http(s)://..."}, got %',
            p_request USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO editroom.edits (media_id, ops, max_trials, priority, kind)
    VALUES (NULL, jsonb_build_array(p_request), p_max_trials, coalesce(p_priority, 0), 'import')
    RETURNING * INTO v_edit;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.enqueue_import(jsonb, integer, integer) IS
'Queues an import of the URL in p_request ({"op": "import", "url", "format", "max_height"}) '
'as a job with no source media; its output is the imported media. The service checks the '
'request (and the URL against its import policy) before calling this.';

CREATE OR REPLACE FUNCTION editroom.set_progress_detail(
    p_id uuid,
    p_worker text,
    p_detail jsonb,
    p_trial integer DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE editroom.edits
       SET progress_detail = p_detail
     WHERE id = p_id AND editroom.edit_held(status, locked_by, trial, p_worker, p_trial)
       AND progress_detail IS DISTINCT FROM p_detail;
    RETURN FOUND OR EXISTS (
        SELECT 1 FROM editroom.edits e
         WHERE e.id = p_id AND editroom.edit_held(e.status, e.locked_by, e.trial, p_worker, p_trial));
END
$$;

COMMENT ON FUNCTION editroom.set_progress_detail(uuid, text, jsonb, integer) IS
'Records what else the progress of edit p_id, held by p_worker in trial p_trial (any when NULL), says (an import: bytes so far '
'and in all). Returns false when the worker no longer holds it.';
