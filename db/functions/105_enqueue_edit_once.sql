CREATE OR REPLACE FUNCTION editroom.identical_edit(p_edit_key text, p_fresh boolean DEFAULT false)
RETURNS editroom.edits
LANGUAGE plpgsql
STABLE
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    -- One still to run (or running) comes first, fresh or not: it is a new run already. A
    -- completed one counts while every result it made is still in the library.
    SELECT e.* INTO v_edit FROM editroom.edits e
     WHERE e.edit_key = p_edit_key
       AND (e.status IN ('queued', 'processing', 'error')
            OR (e.status = 'completed' AND NOT coalesce(p_fresh, false) AND NOT EXISTS (
                SELECT 1 FROM unnest(e.outputs) AS o (id)
                  LEFT JOIN editroom.media m ON m.id = o.id AND m.status = 'ready'
                 WHERE m.id IS NULL)))
     ORDER BY e.status = 'completed', e.created_at DESC
     LIMIT 1;
    IF FOUND THEN
        RETURN v_edit;
    END IF;
    IF coalesce(p_fresh, false) THEN
        RETURN NULL;
    END IF;
    -- Or a completed one archived since (edit_history holds finished edits only).
    SELECT h.* INTO v_edit FROM editroom.edit_history h
     WHERE h.edit_key = p_edit_key AND h.status = 'completed'
       AND NOT EXISTS (
           SELECT 1 FROM unnest(h.outputs) AS o (id)
             LEFT JOIN editroom.media m ON m.id = o.id AND m.status = 'ready'
            WHERE m.id IS NULL)
     ORDER BY h.created_at DESC
     LIMIT 1;
    IF FOUND THEN
        RETURN v_edit;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.identical_edit(text, boolean) IS
'The edit p_edit_key names that a new request joins (one still queued, running or to retry) or, '
'unless p_fresh, reuses (a completed one whose results are all still there, live or archived); '
'NULL when none.';

CREATE OR REPLACE FUNCTION editroom.unmark_by_address(p_id uuid)
RETURNS editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit editroom.edits;
BEGIN
    -- Live, or else archived: an edit found live and archived meanwhile is gone from edits
    -- once its archiver commits (this UPDATE waits for it), and the next statement sees it in
    -- history.
    UPDATE editroom.edits SET by_address = false WHERE id = p_id RETURNING * INTO v_edit;
    IF NOT FOUND THEN
        UPDATE editroom.edit_history SET by_address = false WHERE id = p_id
        RETURNING * INTO v_edit;
    END IF;
    -- Announced here, as edits_notify_event would a change of status: a listing that left it
    -- out lists it now. Not by that trigger, which history has not, and which every update
    -- of edits runs (and migrations' too, before this column exists).
    IF v_edit.id IS NOT NULL AND editroom.watched('editroom_edit_events') THEN
        PERFORM pg_notify('editroom_edit_events', json_build_array(json_build_object(
            'id', v_edit.id, 'status', v_edit.status, 'trial', v_edit.trial,
            'progress', v_edit.progress))::text);
    END IF;
    -- Its results carry the mark for the library's listing (add_media copies it). One that
    -- is completing now is not among these outputs yet: its add_media waits for this row and
    -- reads the mark cleared.
    UPDATE editroom.media SET by_address = false
     WHERE id = ANY (v_edit.outputs) AND by_address;
    RETURN v_edit;
END
$$;

COMMENT ON FUNCTION editroom.unmark_by_address(uuid) IS
'Clears edit p_id''s by_address mark, live or archived, and its results'' in media: someone '
'asked for it other than by its result address (enqueue_edit_once, run_workflow_once call it '
'when they find a marked edit). Returns the edit; NULL when it does not exist.';

CREATE OR REPLACE FUNCTION editroom.enqueue_edit_once(
    p_media_id uuid,
    p_ops jsonb,
    p_edit_key text,
    p_fresh boolean DEFAULT false,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0,
    p_by_address boolean DEFAULT false,
    OUT edit editroom.edits,
    OUT reused boolean
)
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_edit_key IS NULL OR p_edit_key !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'p_edit_key must be a SHA-256 in hex, got %', p_edit_key
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Two identical requests at once must make one edit: the second waits here until the
    -- first commits, and (read committed: each statement sees what committed before it)
    -- then finds the edit the first made. A transaction-level lock, so it is never leaked.
    PERFORM pg_advisory_xact_lock(hashtextextended('editroom.edit_key:' || p_edit_key, 0));
    edit := editroom.identical_edit(p_edit_key, p_fresh);
    IF edit.id IS NOT NULL AND edit.by_address AND NOT coalesce(p_by_address, false) THEN
        -- Under the key's lock, so an address and another request at once end unmarked in
        -- either order: made by the address, then cleared here; or made unmarked, and an
        -- address finding it leaves it so. NULL when the edit went meanwhile (deleted): then
        -- it is made anew, below.
        edit := editroom.unmark_by_address(edit.id);
    END IF;
    IF edit.id IS NOT NULL THEN
        reused := true;
        RETURN;
    END IF;
    -- Inserted with its key in one statement, as run_workflow_once does (and refused as
    -- enqueue_edit refuses): setting the key by an UPDATE after enqueue_edit ran every
    -- trigger on edits a second time, a third of a fresh edit's enqueue.
    PERFORM editroom.check_edit_arguments(p_ops, p_max_trials);
    INSERT INTO editroom.edits (media_id, ops, max_trials, priority, edit_key, kind, by_address)
    SELECT m.id, p_ops, p_max_trials, coalesce(p_priority, 0), p_edit_key, m.kind::text,
           coalesce(p_by_address, false)
      FROM editroom.media m
     WHERE m.id = p_media_id AND m.status = 'ready'
    RETURNING * INTO edit;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'media % does not exist', p_media_id USING ERRCODE = 'no_data_found';
    END IF;
    reused := false;
END
$$;

COMMENT ON FUNCTION editroom.enqueue_edit_once(uuid, jsonb, text, boolean, integer, integer, boolean) IS
'Queues the edit p_edit_key names (its source''s SHA-256, media kind and canonical operations, '
'hashed) unless an identical one exists: one still queued, running or to retry is joined; a '
'completed one (in edits or archived) whose results are all still there is reused (not with '
'p_fresh). Returns the '
'edit and whether it was an existing one. Identical calls at once make one edit. '
'p_by_address: asked for by its result address (GET /media/{id}/{operations}); a new edit is '
'then marked by_address, a cache copy. Any other call that finds a marked edit clears the mark '
'(unmark_by_address): someone asked for it by name.';

CREATE OR REPLACE FUNCTION editroom.enqueue_edit_once_admitted(
    p_max_queued bigint,
    p_media_id uuid,
    p_ops jsonb,
    p_edit_key text,
    p_fresh boolean DEFAULT false,
    p_max_trials integer DEFAULT 3,
    p_priority integer DEFAULT 0,
    p_by_address boolean DEFAULT false,
    OUT waiting bigint,
    OUT edit editroom.edits,
    OUT reused boolean
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_made record;
BEGIN
    -- Admission first, as the API answers it: a full queue is refused before anything else
    -- is looked at, with nothing made (edit NULL).
    SELECT coalesce(sum(c.count), 0)::bigint INTO waiting
      FROM editroom.status_counts() c
     WHERE c.status IN ('queued', 'error');
    IF waiting >= p_max_queued THEN
        RETURN;
    END IF;
    -- The caller worked the key out from facts of the media it read before (its bytes never
    -- change); whether it is still there is checked now, even when an edit is joined.
    PERFORM FROM editroom.media m WHERE m.id = p_media_id AND m.status = 'ready';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'media % does not exist', p_media_id USING ERRCODE = 'no_data_found';
    END IF;
    SELECT * INTO v_made
      FROM editroom.enqueue_edit_once(p_media_id, p_ops, p_edit_key, p_fresh, p_max_trials,
                                      p_priority, p_by_address);
    edit := v_made.edit;
    reused := v_made.reused;
END
$$;

COMMENT ON FUNCTION editroom.enqueue_edit_once_admitted(bigint, uuid, jsonb, text, boolean, integer, integer, boolean) IS
'enqueue_edit_once behind admission, in one call: returns how many edits wait to run (queued or '
'to retry) and, unless p_max_queued wait already (then edit is NULL and nothing is made), the '
'edit made once and whether it was an existing one (p_by_address as enqueue_edit_once''s). '
'Raises when media p_media_id is not ready, even for an identical edit. What POST /edit calls '
'once the service knows the media.';
