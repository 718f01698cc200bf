-- What every way of queueing edits refuses, in one place so that they answer alike.
CREATE OR REPLACE FUNCTION editroom.check_edit_arguments(p_ops jsonb, p_max_trials integer)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_ops IS NULL OR jsonb_typeof(p_ops) <> 'array' THEN
        RAISE EXCEPTION 'p_ops must be a JSON array of operations, got %',
            coalesce(jsonb_typeof(p_ops), 'null')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_max_trials IS NULL OR p_max_trials < 1 THEN
        RAISE EXCEPTION 'p_max_trials must be at least 1, got %', p_max_trials
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.check_edit_arguments(jsonb, integer) IS
'Raises invalid_parameter_value unless p_ops is a JSON array and p_max_trials at least 1: the '
'checks enqueue_edit and enqueue_edits share.';

CREATE OR REPLACE FUNCTION editroom.enqueue_edit(
    p_media_id uuid,
    p_ops jsonb,
    p_session_id uuid DEFAULT NULL,
    p_workflow_id uuid DEFAULT NULL,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0,
    p_run_after timestamptz DEFAULT now()
)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
    v_step integer;
    v_input uuid;
    v_parent uuid;
    v_blocked_by uuid;
    v_kind text;  -- its lane: known at enqueue, so a claim per kind needs no join
BEGIN
    PERFORM editroom.check_edit_arguments(p_ops, p_max_trials);
    IF p_session_id IS NOT NULL THEN
        IF p_media_id IS NOT NULL THEN
            RAISE EXCEPTION 'a session edit reads its session''s head: give p_media_id NULL'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        SELECT s.step, s.media_id, s.parent_edit_id, s.blocked_by
          INTO v_step, v_input, v_parent, v_blocked_by
          FROM editroom.next_session_step(p_session_id) AS s;
        -- A step waiting for the one before it gets its kind with its input, from the trigger
        -- that unblocks it (300_sessions.sql).
        SELECT m.kind::text INTO v_kind FROM editroom.media m WHERE m.id = v_input;
    ELSE
        SELECT m.kind::text INTO v_kind
          FROM editroom.media m WHERE m.id = p_media_id AND m.status = 'ready';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'media % does not exist', p_media_id USING ERRCODE = 'no_data_found';
        END IF;
    END IF;

    INSERT INTO editroom.edits
        (media_id, ops, session_id, workflow_id, max_trials, priority, run_after,
         session_step, parent_edit_id, blocked_by, kind)
    VALUES
        (coalesce(p_media_id, v_input), p_ops, p_session_id, p_workflow_id,
         p_max_trials, coalesce(p_priority, 0), coalesce(p_run_after, now()),
         v_step, v_parent, v_blocked_by, v_kind)
    RETURNING * INTO v_edit;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.enqueue_edit(uuid, jsonb, uuid, uuid, integer, integer, timestamptz) IS
'Queues an edit of media p_media_id running the operations p_ops (a JSON array) and returns it. '
'With p_session_id (and p_media_id NULL) it is the session''s next step: it reads the session''s '
'head, or waits for the step before it to complete. Higher p_priority is claimed first; '
'p_run_after delays it; p_max_trials bounds the attempts. Runners are woken through NOTIFY '
'editroom_queue.';

CREATE OR REPLACE FUNCTION editroom.enqueue_edits(
    p_media_ids uuid[],
    p_ops jsonb,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0,
    p_run_after timestamptz DEFAULT now()
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_made bigint;
    v_missing uuid;
BEGIN
    PERFORM editroom.check_edit_arguments(p_ops, p_max_trials);
    IF p_media_ids IS NULL THEN
        RAISE EXCEPTION 'p_media_ids must be an array of media ids'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One statement for the whole batch: its triggers run once (one count, one wake-up). It
    -- reads each media once, ready or not, so one deleted meanwhile cannot slip through.
    RETURN QUERY
    INSERT INTO editroom.edits (media_id, ops, max_trials, priority, run_after, kind)
    SELECT r.media_id, p_ops, p_max_trials, coalesce(p_priority, 0),
           coalesce(p_run_after, now()), m.kind::text
      FROM unnest(p_media_ids) WITH ORDINALITY AS r (media_id, position)
      JOIN editroom.media m ON m.id = r.media_id AND m.status = 'ready'
     ORDER BY r.position
    RETURNING *;
    GET DIAGNOSTICS v_made = ROW_COUNT;
    IF v_made < cardinality(p_media_ids) THEN
        -- All or nothing: raising undoes the edits made above.
        SELECT r.media_id INTO v_missing
          FROM unnest(p_media_ids) WITH ORDINALITY AS r (media_id, position)
         WHERE NOT EXISTS (SELECT FROM editroom.media m
                            WHERE m.id = r.media_id AND m.status = 'ready')
         ORDER BY r.position
         LIMIT 1;
        RAISE EXCEPTION 'media % does not exist', v_missing USING ERRCODE = 'no_data_found';
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.enqueue_edits(uuid[], jsonb, integer, integer, timestamptz) IS
'Queues one edit running p_ops on each of p_media_ids (a media named twice gets two), in one '
'statement, and returns them in order: what enqueue_edit does for one media, for many at the '
'cost of one (one trigger run, one NOTIFY editroom_queue). Refuses them all, naming the first, '
'if one media is missing.';
