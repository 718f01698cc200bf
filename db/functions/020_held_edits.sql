-- Only the worker that claimed an edit may finish it. These helpers say precisely why not.
CREATE OR REPLACE FUNCTION editroom.raise_not_held(p_id uuid, p_worker text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_status editroom.edit_status;
    v_locked_by text;
BEGIN
    SELECT status, locked_by INTO v_status, v_locked_by FROM editroom.edits WHERE id = p_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'edit % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_status <> 'processing' THEN
        RAISE EXCEPTION 'edit % is %, not processing', p_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'edit % is held by %, not %', p_id, v_locked_by, p_worker
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$;

COMMENT ON FUNCTION editroom.raise_not_held(uuid, text) IS
'Raises the reason p_worker does not hold edit p_id: it does not exist, it is not processing, '
'or another worker holds it. Used by the functions that finish an attempt.';

CREATE OR REPLACE FUNCTION editroom.lock_held_edit(p_id uuid, p_worker text)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    SELECT * INTO v_edit FROM editroom.edits WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR v_edit.status <> 'processing' OR v_edit.locked_by IS DISTINCT FROM p_worker THEN
        PERFORM editroom.raise_not_held(p_id, p_worker);
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.lock_held_edit(uuid, text) IS
'Locks edit p_id and returns it when p_worker holds it (processing, claimed by p_worker); '
'raises the reason otherwise.';

CREATE OR REPLACE FUNCTION editroom.lock_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    SELECT * INTO v_edit FROM editroom.edits WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'edit % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.lock_edit(uuid) IS
'Locks edit p_id for a state change and returns it; raises no_data_found when it does not exist.';
