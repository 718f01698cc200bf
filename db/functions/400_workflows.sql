-- Workflows: a named, versioned list of operations that runs on media as ordinary edits.
-- The service checks the operations (the same code as /edit) and says which media kinds
-- they fit; these functions keep the versions and make the edits.

CREATE OR REPLACE FUNCTION editroom.create_workflow(
    p_name text,
    p_ops jsonb,
    p_kinds editroom.media_kind[]
)
RETURNS TABLE (workflow editroom.workflows, created boolean)
LANGUAGE plpgsql
AS $$
DECLARE
    v_name text := btrim(p_name);
BEGIN
    IF coalesce(v_name, '') = '' THEN
        RAISE EXCEPTION 'a workflow needs a name' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A name is one live workflow: importing an export twice must not make a twin. Two
    -- imports at once wait for each other here instead of both finding no workflow.
    PERFORM pg_advisory_xact_lock(hashtext('editroom.workflow_name'), hashtext(v_name));
    workflow := editroom.live_workflow_named(v_name);
    IF workflow.id IS NOT NULL THEN
        IF NOT editroom.workflow_version_is(workflow, p_ops, p_kinds) THEN
            RAISE EXCEPTION 'workflow % is already named "%", with other operations or kinds; '
                'PUT /workflows/% to save them as its new version, or choose another name',
                workflow.id, v_name, workflow.id
                USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
        created := false;
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO editroom.workflows (name, version) VALUES (v_name, 1)
    RETURNING * INTO workflow;
    INSERT INTO editroom.workflow_versions (workflow_id, version, ops, kinds)
    VALUES (workflow.id, 1, p_ops, p_kinds);
    created := true;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION editroom.create_workflow(text, jsonb, editroom.media_kind[]) IS
'Saves a workflow: p_name, its operations p_ops (a JSON array, as edits hold them) and the media '
'kinds they fit. Its first version is 1. A name is one live workflow: when one has it with the '
'same operations and kinds, that one is returned (created = false); with others, it raises.';

CREATE OR REPLACE FUNCTION editroom.live_workflow_named(p_name text)
RETURNS editroom.workflows
LANGUAGE sql
STABLE
AS $$
    SELECT * FROM editroom.workflows
     WHERE name = p_name AND deleted_at IS NULL
     ORDER BY created_at DESC, id
     LIMIT 1;
$$;

COMMENT ON FUNCTION editroom.live_workflow_named(text) IS
'The workflow not deleted that is named p_name (the newest, should an older database hold two).';

CREATE OR REPLACE FUNCTION editroom.workflow_version_is(
    p_workflow editroom.workflows,
    p_ops jsonb,
    p_kinds editroom.media_kind[]
)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    SELECT EXISTS (
        SELECT FROM editroom.workflow_versions v
         WHERE v.workflow_id = p_workflow.id AND v.version = p_workflow.version
           AND v.ops = p_ops AND v.kinds @> p_kinds AND v.kinds <@ p_kinds
    );
$$;

COMMENT ON FUNCTION editroom.workflow_version_is(editroom.workflows, jsonb, editroom.media_kind[]) IS
'Whether the current version of p_workflow has exactly these operations and kinds.';

CREATE OR REPLACE FUNCTION editroom.lock_workflow(p_id uuid)
RETURNS editroom.workflows
LANGUAGE plpgsql
AS $$
DECLARE
    v_workflow editroom.workflows;
BEGIN
    SELECT * INTO v_workflow FROM editroom.workflows WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR v_workflow.deleted_at IS NOT NULL THEN
        RAISE EXCEPTION 'workflow % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    RETURN v_workflow;
END
$$;

COMMENT ON FUNCTION editroom.lock_workflow(uuid) IS
'Locks workflow p_id; raises when it does not exist or was deleted.';

CREATE OR REPLACE FUNCTION editroom.update_workflow(
    p_id uuid,
    p_name text,
    p_ops jsonb,
    p_kinds editroom.media_kind[]
)
RETURNS editroom.workflows
LANGUAGE plpgsql
AS $$
DECLARE
    v_workflow editroom.workflows;
    v_namesake editroom.workflows;
BEGIN
    v_workflow := editroom.lock_workflow(p_id);
    IF nullif(btrim(p_name), '') IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('editroom.workflow_name'), hashtext(btrim(p_name)));
        v_namesake := editroom.live_workflow_named(btrim(p_name));
        IF v_namesake.id IS NOT NULL AND v_namesake.id <> p_id THEN
            RAISE EXCEPTION 'workflow % is already named "%"; choose another name',
                v_namesake.id, btrim(p_name) USING ERRCODE = 'object_not_in_prerequisite_state';
        END IF;
    END IF;
    UPDATE editroom.workflows
       SET version = version + 1,
           name = coalesce(nullif(btrim(p_name), ''), name),
           updated_at = now()
     WHERE id = p_id
    RETURNING * INTO v_workflow;
    INSERT INTO editroom.workflow_versions (workflow_id, version, ops, kinds)
    VALUES (p_id, v_workflow.version, p_ops, p_kinds);
    RETURN v_workflow;
END
$$;

COMMENT ON FUNCTION editroom.update_workflow(uuid, text, jsonb, editroom.media_kind[]) IS
'Saves a new version of workflow p_id (name unchanged when p_name is NULL; raises when another '
'live workflow has that name). Executions keep the version they ran.';

CREATE OR REPLACE FUNCTION editroom.delete_workflow(p_id uuid)
RETURNS editroom.workflows
LANGUAGE plpgsql
AS $$
DECLARE
    v_workflow editroom.workflows;
BEGIN
    v_workflow := editroom.lock_workflow(p_id);
    UPDATE editroom.workflows SET deleted_at = now() WHERE id = p_id
    RETURNING * INTO v_workflow;
    RETURN v_workflow;
END
$$;

COMMENT ON FUNCTION editroom.delete_workflow(uuid) IS
'Deletes workflow p_id softly: it can no longer run, and its versions and executions stay '
'readable. Edits already queued still run.';

-- Returns the version's number, not its row: a signature naming workflow_versions would tie the
-- function to that table, which a downgrade below 0004 drops.
CREATE OR REPLACE FUNCTION editroom.workflow_version_to_run(p_id uuid, p_media_ids uuid[])
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_workflow editroom.workflows;
    v_version editroom.workflow_versions;
    v_misfit record;
BEGIN
    v_workflow := editroom.lock_workflow(p_id);
    SELECT * INTO v_version FROM editroom.workflow_versions
     WHERE workflow_id = p_id AND version = v_workflow.version;
    IF coalesce(cardinality(p_media_ids), 0) = 0 THEN
        RAISE EXCEPTION 'run_workflow needs at least one media id'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- All or nothing: one unknown or unfit media and no edit is made.
    SELECT r.media_id, m.kind INTO v_misfit
      FROM unnest(p_media_ids) AS r (media_id)
      LEFT JOIN editroom.media m ON m.id = r.media_id AND m.status = 'ready'
     WHERE m.kind IS NULL OR m.kind <> ALL (v_version.kinds)
     LIMIT 1;
    IF FOUND THEN
        IF v_misfit.kind IS NULL THEN
            RAISE EXCEPTION 'media % does not exist', v_misfit.media_id
                USING ERRCODE = 'no_data_found';
        END IF;
        RAISE EXCEPTION 'media % is %, and workflow % works on %', v_misfit.media_id,
            CASE WHEN v_misfit.kind::text ~ '^[aeiou]' THEN 'an ' ELSE 'a ' END || v_misfit.kind,
            p_id, array_to_string(v_version.kinds, 's or ') || 's'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN v_version.version;
END
$$;

COMMENT ON FUNCTION editroom.workflow_version_to_run(uuid, uuid[]) IS
'Locks workflow p_id and returns its current version number, once every one of p_media_ids '
'is a ready media of a kind it fits; raises naming the first that is not.';

CREATE OR REPLACE FUNCTION editroom.run_workflow(
    p_id uuid,
    p_media_ids uuid[],
    p_priority integer DEFAULT 0,
    p_max_trials integer DEFAULT 3
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
AS $$
DECLARE
    v_number integer;
    v_version editroom.workflow_versions;
BEGIN
    v_number := editroom.workflow_version_to_run(p_id, p_media_ids);
    SELECT * INTO v_version FROM editroom.workflow_versions
     WHERE workflow_id = p_id AND version = v_number;
    -- One statement for the whole batch: one wake-up for the runners.
    RETURN QUERY
    INSERT INTO editroom.edits
        (media_id, ops, workflow_id, workflow_version, priority, max_trials, kind)
    SELECT r.media_id, v_version.ops, p_id, v_version.version, coalesce(p_priority, 0),
           p_max_trials, m.kind::text
      FROM unnest(p_media_ids) WITH ORDINALITY AS r (media_id, position)
      JOIN editroom.media m ON m.id = r.media_id
     ORDER BY r.position
    RETURNING *;
END
$$;

COMMENT ON FUNCTION editroom.run_workflow(uuid, uuid[], integer, integer) IS
'Runs the current version of workflow p_id on each of p_media_ids: one edit each, made in one '
'statement, returned in order. Refuses them all if one media is missing or of a kind the '
'workflow does not fit.';

CREATE OR REPLACE FUNCTION editroom.run_workflow_once(
    p_id uuid,
    p_version integer,
    p_media_ids uuid[],
    p_edit_keys text[],
    p_fresh boolean DEFAULT false,
    p_priority integer DEFAULT 0,
    p_max_trials integer DEFAULT 3
)
RETURNS TABLE (edit editroom.edits, reused boolean)
LANGUAGE plpgsql
AS $$
DECLARE
    v_number integer;
    v_version editroom.workflow_versions;
BEGIN
    v_number := editroom.workflow_version_to_run(p_id, p_media_ids);
    SELECT * INTO v_version FROM editroom.workflow_versions
     WHERE workflow_id = p_id AND version = v_number;
    -- The keys were worked out from this version's operations: another version would run
    -- operations they do not name.
    IF v_version.version IS DISTINCT FROM p_version THEN
        RAISE EXCEPTION 'workflow % is at version %, not %; run it again',
            p_id, v_version.version, p_version USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF cardinality(p_edit_keys) IS DISTINCT FROM cardinality(p_media_ids) OR EXISTS (
        SELECT FROM unnest(p_edit_keys) AS k (key) WHERE k.key IS NULL OR k.key !~ '^[0-9a-f]{64}$'
    ) THEN
        RAISE EXCEPTION 'p_edit_keys must hold one SHA-256 in hex per media id'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- enqueue_edit_once's lock on each key, so identical edits at once make one edit whoever
    -- asks; taken in one order, so that two batches never wait for each other in a circle.
    PERFORM pg_advisory_xact_lock(hashtextextended('editroom.edit_key:' || k.key, 0))
       FROM (SELECT DISTINCT u.key FROM unnest(p_edit_keys) AS u (key) ORDER BY u.key) AS k;
    -- This statement starts after the locks: it sees every identical edit made before them.
    RETURN QUERY
    WITH wanted AS (
        SELECT r.media_id, r.edit_key, r.position,
               (editroom.identical_edit(r.edit_key, p_fresh)).id AS found_id
          FROM unnest(p_media_ids, p_edit_keys) WITH ORDINALITY AS r (media_id, edit_key, position)
    ), made AS (
        -- One statement for all the new edits: one wake-up for the runners. A media the
        -- batch names twice is one edit.
        INSERT INTO editroom.edits
            (media_id, ops, workflow_id, workflow_version, priority, max_trials, edit_key, kind)
        SELECT DISTINCT ON (w.edit_key) w.media_id, v_version.ops, p_id, v_version.version,
               coalesce(p_priority, 0), p_max_trials, w.edit_key, m.kind::text
          FROM wanted w
          JOIN editroom.media m ON m.id = w.media_id
         WHERE w.found_id IS NULL
         ORDER BY w.edit_key, w.position
        RETURNING *
    )
    -- An identical edit found that only an address had asked for is asked for by name now.
    SELECT coalesce(CASE WHEN f.by_address THEN editroom.unmark_by_address(f.id) ELSE f END,
                    m::editroom.edits),
           w.found_id IS NOT NULL OR w.position > (
               SELECT min(o.position) FROM wanted o WHERE o.edit_key = w.edit_key)
      FROM wanted w
      LEFT JOIN LATERAL editroom.find_edit(w.found_id) AS f ON true  -- live or archived
      LEFT JOIN made m ON w.found_id IS NULL AND m.edit_key = w.edit_key
     ORDER BY w.position;
END
$$;

COMMENT ON FUNCTION editroom.run_workflow_once(uuid, integer, uuid[], text[], boolean, integer, integer) IS
'Runs version p_version (the current one, else it raises) of workflow p_id on each of '
'p_media_ids like run_workflow, but each edit made once, as enqueue_edit_once does: '
'p_edit_keys holds the key of each media''s edit; an identical edit still to run is joined, a '
'completed one reused (not with p_fresh), whoever made it (one marked by_address, made by a '
'result address, is unmarked). Returns (edit, reused) in order; the new edits are made in one '
'statement.';
