-- Only the attempt that claimed an edit may finish it: the worker, and the trial its claim
-- returned. A worker name alone is not enough: a runner whose attempt was reaped may claim the
-- same edit again, and its stale attempt must not heartbeat or complete the new one.
CREATE OR REPLACE FUNCTION editroom.edit_held(
    p_status editroom.edit_status,
    p_locked_by text,
    p_trial integer,
    p_worker text,
    p_claimed_trial integer
)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_status = 'processing' AND p_locked_by = p_worker
           AND (p_claimed_trial IS NULL OR p_trial = p_claimed_trial);
$$;

COMMENT ON FUNCTION editroom.edit_held(editroom.edit_status, text, integer, text, integer) IS
'Whether an edit with these columns (status, locked_by, trial) is held by worker p_worker in '
'the attempt it claimed as trial p_claimed_trial (NULL: any trial, the pre-fencing form). '
'Call it with the row''s columns: edit_held(e.status, e.locked_by, e.trial, worker, trial).';

CREATE OR REPLACE FUNCTION editroom.raise_not_held(
    p_id uuid,
    p_worker text,
    p_trial integer DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_status editroom.edit_status;
    v_locked_by text;
    v_trial integer;
BEGIN
    SELECT status, locked_by, trial INTO v_status, v_locked_by, v_trial
      FROM editroom.edits WHERE id = p_id;
    IF NOT FOUND THEN  -- archived since: finished, so not held (said as for any finished edit)
        SELECT status, locked_by, trial INTO v_status, v_locked_by, v_trial
          FROM editroom.edit_history WHERE id = p_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'edit % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_status <> 'processing' THEN
        RAISE EXCEPTION 'edit % is %, not processing', p_id, v_status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF v_locked_by IS DISTINCT FROM p_worker THEN
        RAISE EXCEPTION 'edit % is held by %, not %', p_id, v_locked_by, p_worker
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RAISE EXCEPTION 'edit % is in trial %, not %: that attempt is over', p_id, v_trial, p_trial
        USING ERRCODE = 'object_not_in_prerequisite_state';
END
$$;

COMMENT ON FUNCTION editroom.raise_not_held(uuid, text, integer) IS
'Raises the reason p_worker does not hold edit p_id in trial p_trial: it does not exist, it is '
'not processing, another worker holds it, or it is in another trial (the attempt was reaped '
'and the edit claimed again). Used by the functions that finish an attempt.';

CREATE OR REPLACE FUNCTION editroom.lock_sessions_of(p_edit_ids uuid[])
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- In id order, so two callers locking several sessions never wait on each other. The
    -- sessions' ids as an array, not IN (subquery): PostgreSQL kept a custom plan for that
    -- semi-join and planned it again at every call, some 0.15 ms of every completion (and
    -- failure, cancel, retry) of an edit that is in no session; this plan is kept.
    PERFORM 1
       FROM editroom.sessions s
      WHERE s.id = ANY (ARRAY(SELECT e.session_id FROM editroom.edits e
                               WHERE e.id = ANY (p_edit_ids) AND e.session_id IS NOT NULL))
      ORDER BY s.id
        FOR UPDATE;
END
$$;

COMMENT ON FUNCTION editroom.lock_sessions_of(uuid[]) IS
'Locks the sessions of those of p_edit_ids that are session steps. Whatever ends a step '
'(complete, fail, cancel, retry) takes its session first, then the step: a step being added '
'to the session holds the session while it references the step before it, and must not wait '
'for that step''s change while the change waits for the session (300_sessions.sql).';

CREATE OR REPLACE FUNCTION editroom.lock_held_edit(
    p_id uuid,
    p_worker text,
    p_trial integer DEFAULT NULL
)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    PERFORM editroom.lock_sessions_of(ARRAY[p_id]);  -- a step's session first: see there
    -- NO KEY UPDATE, the lock the UPDATE that follows takes: a state change never touches the
    -- id, so a step being added may reference this one meanwhile (its foreign key's KEY SHARE).
    SELECT * INTO v_edit FROM editroom.edits WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND OR NOT editroom.edit_held(v_edit.status, v_edit.locked_by, v_edit.trial,
                                           p_worker, p_trial) THEN
        PERFORM editroom.raise_not_held(p_id, p_worker, p_trial);
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.lock_held_edit(uuid, text, integer) IS
'Locks edit p_id and returns it when p_worker holds it in trial p_trial (any trial when NULL); '
'raises the reason otherwise.';

CREATE OR REPLACE FUNCTION editroom.lock_edit(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    PERFORM editroom.lock_sessions_of(ARRAY[p_id]);  -- as above
    SELECT * INTO v_edit FROM editroom.edits WHERE id = p_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        -- An archived edit is finished for good unless retry_edit brings it back: its state
        -- is what a caller checks, and nothing changes it meanwhile.
        SELECT * INTO v_edit FROM editroom.edit_history WHERE id = p_id;
        IF NOT FOUND THEN  -- moved back to edits (retry_edit) since the first look
            SELECT * INTO v_edit FROM editroom.edits WHERE id = p_id FOR NO KEY UPDATE;
        END IF;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'edit % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.lock_edit(uuid) IS
'Locks edit p_id for a state change and returns it (an archived one, finished, unlocked, from '
'edit_history); raises no_data_found when it does not exist.';
