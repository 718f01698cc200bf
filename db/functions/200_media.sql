-- The media library's rules: one row per distinct content (SHA-256), pending presigned
-- uploads, and when a media may be deleted. The service stores bytes; these keep the rows.

CREATE OR REPLACE FUNCTION editroom.add_media(
    p_kind editroom.media_kind,
    p_content_type text,
    p_size_bytes bigint,
    p_sha256 text,
    p_storage_key text,
    p_original_name text DEFAULT NULL,
    p_width integer DEFAULT NULL,
    p_height integer DEFAULT NULL,
    p_duration_seconds double precision DEFAULT NULL,
    p_frame_rate double precision DEFAULT NULL,
    p_video_codec text DEFAULT NULL,
    p_audio_codec text DEFAULT NULL,
    p_source_edit_id uuid DEFAULT NULL,
    p_source_media_id uuid DEFAULT NULL,
    p_source_seconds double precision DEFAULT NULL
)
RETURNS TABLE (media editroom.media, created boolean)
LANGUAGE plpgsql
AS $$
DECLARE
    v_kind text;  -- the lane of the edit that made it
    v_by_address boolean := false;  -- that edit's mark
    v_origin text := 'upload';
BEGIN
    IF p_source_edit_id IS NOT NULL THEN
        SELECT e.kind, e.by_address INTO v_kind, v_by_address FROM editroom.edits e
         WHERE e.id = p_source_edit_id;
        -- A mark only goes from true to false (unmark_by_address): false is final, true is
        -- read again under the row's lock, so a clearing about to commit is waited for, and
        -- one that comes later finds this result among the edit's outputs.
        IF v_by_address THEN
            SELECT e.by_address INTO v_by_address FROM editroom.edits e
             WHERE e.id = p_source_edit_id
               FOR NO KEY UPDATE;
        END IF;
        -- What made it: an import job, or an edit (the job's lane says).
        v_origin := CASE WHEN v_kind = 'import' THEN 'import' ELSE 'edit' END;
    END IF;
    -- A concurrent upload of the same bytes makes ON CONFLICT wait for it, then yield.
    INSERT INTO editroom.media AS m
        (kind, content_type, size_bytes, sha256, storage_key, original_name, width, height,
         duration_seconds, frame_rate, video_codec, audio_codec, source_edit_id,
         source_media_id, source_seconds, origin, by_address, uploaded_at)
    VALUES
        (p_kind, p_content_type, p_size_bytes, p_sha256, p_storage_key, p_original_name,
         p_width, p_height, p_duration_seconds, p_frame_rate, p_video_codec, p_audio_codec,
         p_source_edit_id, p_source_media_id, p_source_seconds, v_origin,
         coalesce(v_by_address, false),
         -- not the transaction's start: an edit's results, added in one statement in their
         -- order, are listed (newest first) in that order, not at random among equals
         clock_timestamp())
    ON CONFLICT (sha256) DO NOTHING
    RETURNING m.* INTO media;
    created := FOUND;
    IF NOT created THEN
        SELECT m.* INTO media FROM editroom.media m WHERE m.sha256 = p_sha256;
        -- The same bytes as a copy an address made, now the result of an edit asked for by
        -- name (or uploaded): no longer a copy only.
        IF media.by_address AND NOT coalesce(v_by_address, false) THEN
            UPDATE editroom.media m SET by_address = false WHERE m.id = media.id
            RETURNING m.* INTO media;
        END IF;
    END IF;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION editroom.add_media(editroom.media_kind, text, bigint, text, text, text, integer, integer, double precision, double precision, text, text, uuid, uuid, double precision) IS
'Records stored, probed media. Content already known (same SHA-256) returns the existing row '
'with created = false, and the caller keeps no second copy. An edit''s output names the edit '
'and its source media, and a still (thumbnail, frames) the second of that video it shows. '
'Its origin is upload without p_source_edit_id, import when that edit is an import job, '
'else edit; by_address as that edit''s (a copy made by a result address), cleared on known '
'content that something else made again.';

CREATE OR REPLACE FUNCTION editroom.unmark_media_by_address(p_id uuid)
RETURNS editroom.media
LANGUAGE sql
AS $$
    UPDATE editroom.media m SET by_address = false
     WHERE m.id = p_id AND m.by_address
    RETURNING m.*;
$$;

COMMENT ON FUNCTION editroom.unmark_media_by_address(uuid) IS
'Media p_id, known bytes a person uploaded again, is no longer a copy a result address made '
'only (as add_media and complete_pending_media clear it for theirs). Returns the row when it '
'was marked, else NULL.';

CREATE OR REPLACE FUNCTION editroom.create_pending_media(
    p_original_name text,
    p_expected_size_bytes bigint,
    p_expires_in interval
)
RETURNS editroom.media
LANGUAGE plpgsql
AS $$
DECLARE
    v_media editroom.media;
    v_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO editroom.media
        (id, status, storage_key, original_name, expected_size_bytes, expires_at)
    VALUES
        (v_id, 'pending', 'pending/' || v_id, p_original_name, p_expected_size_bytes,
         now() + p_expires_in)
    RETURNING * INTO v_media;
    RETURN v_media;
END
$$;

COMMENT ON FUNCTION editroom.create_pending_media(text, bigint, interval) IS
'A presigned upload: a pending media row whose bytes go to storage key pending/<id> and must '
'be completed (complete_pending_media) before it expires.';

CREATE OR REPLACE FUNCTION editroom.lock_pending_media(p_id uuid)
RETURNS editroom.media
LANGUAGE plpgsql
AS $$
DECLARE
    v_media editroom.media;
BEGIN
    SELECT * INTO v_media FROM editroom.media WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'upload % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    IF v_media.status = 'pending' AND v_media.expires_at < now() THEN
        RAISE EXCEPTION 'upload % expired at %; ask for a new presigned URL', p_id,
            v_media.expires_at USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN v_media;
END
$$;

COMMENT ON FUNCTION editroom.lock_pending_media(uuid) IS
'Locks media p_id for completion; raises when it does not exist or its upload has expired.';

CREATE OR REPLACE FUNCTION editroom.complete_pending_media(
    p_id uuid,
    p_kind editroom.media_kind,
    p_content_type text,
    p_size_bytes bigint,
    p_sha256 text,
    p_storage_key text,
    p_width integer DEFAULT NULL,
    p_height integer DEFAULT NULL,
    p_duration_seconds double precision DEFAULT NULL,
    p_frame_rate double precision DEFAULT NULL,
    p_video_codec text DEFAULT NULL,
    p_audio_codec text DEFAULT NULL
)
RETURNS TABLE (media editroom.media, created boolean)
LANGUAGE plpgsql
AS $$
DECLARE
    v_pending editroom.media;
BEGIN
    v_pending := editroom.lock_pending_media(p_id);
    IF v_pending.status = 'ready' THEN
        media := v_pending;
        created := false;
        RETURN NEXT;
        RETURN;
    END IF;

    SELECT m.* INTO media FROM editroom.media m WHERE m.sha256 = p_sha256;
    IF FOUND THEN
        -- Known content: the pending row goes, the existing media answers; uploaded by a
        -- person, it is no longer a copy an address made only (as add_media's).
        DELETE FROM editroom.media WHERE id = p_id;
        IF media.by_address THEN
            UPDATE editroom.media m SET by_address = false WHERE m.id = media.id
            RETURNING m.* INTO media;
        END IF;
        created := false;
        RETURN NEXT;
        RETURN;
    END IF;

    UPDATE editroom.media
       SET status = 'ready', kind = p_kind, content_type = p_content_type,
           size_bytes = p_size_bytes, sha256 = p_sha256, storage_key = p_storage_key,
           width = p_width, height = p_height, duration_seconds = p_duration_seconds,
           frame_rate = p_frame_rate, video_codec = p_video_codec, audio_codec = p_audio_codec,
           expires_at = NULL, uploaded_at = now()
     WHERE id = p_id
    RETURNING * INTO media;
    created := true;
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION editroom.complete_pending_media(uuid, editroom.media_kind, text, bigint, text, text, integer, integer, double precision, double precision, text, text) IS
'Marks a verified presigned upload ready with what probing found. If the same content is '
'already in the library, the pending row is removed and the existing media is returned with '
'created = false. Completing a ready media returns it unchanged.';

CREATE OR REPLACE FUNCTION editroom.delete_media(p_id uuid)
RETURNS editroom.media
LANGUAGE plpgsql
AS $$
DECLARE
    v_media editroom.media;
    v_edit record;
BEGIN
    -- The sessions it is the original of, before the media, in one order: adding a step
    -- holds its session, then reads its head media (its foreign key's lock).
    PERFORM 1 FROM editroom.sessions s WHERE s.media_id = p_id ORDER BY s.id FOR UPDATE;
    SELECT * INTO v_media FROM editroom.media WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'media % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    -- Its sessions go with it, and a session is how its steps hand on to each other: one
    -- still to run (reading an earlier step's output, not this media) would wait for ever.
    SELECT e.id, e.status, e.session_id, e.session_step INTO v_edit
      FROM editroom.sessions s
      JOIN editroom.edits e ON e.session_id = s.id
     WHERE s.media_id = p_id AND editroom.edit_still_to_run(e.status)
     ORDER BY e.session_step
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'media % is the original of session %, whose step % is %; cancel it (or '
            'delete the session) or let it finish first',
            p_id, v_edit.session_id, v_edit.session_step, v_edit.status
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Edits still to run read their source, and concat (or an overlay) reads the media its
    -- ops name (an operation's `media`): edits_media_idx finds the first,
    -- edits_still_to_run_reads_idx the others (its expression and predicate as written
    -- here), so the backlog is not read. No LIMIT, as below.
    SELECT e.id, e.status INTO v_edit
      FROM editroom.edits e
     WHERE editroom.edit_still_to_run(e.status)
       AND (e.media_id = p_id
            OR (e.ops @? 'lax $[*].media'
                AND jsonb_path_query_array(e.ops, 'lax $[*].media[*]')
                    @> jsonb_build_array(p_id)));
    IF FOUND THEN
        RAISE EXCEPTION 'media % is read by edit %, which is %; cancel it or let it finish first',
            p_id, v_edit.id, v_edit.status USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- A session's steps are its history: undo and redo may make any of their outputs the head.
    -- A session whose original this media is goes with it, whatever its steps made (a step
    -- may give the original's own bytes back, which are the same media).
    -- No LIMIT: planned for one row, it walked every session step (edits_session_outputs_idx
    -- finds the few, if any; INTO keeps the first). In the order the library's
    -- session_holding_media names the holder in (service/kernel/queries.sql): the words and
    -- the fields name the same step, the first of the oldest session that made the media.
    SELECT e.session_id, e.session_step INTO v_edit
      FROM editroom.edits e
      JOIN editroom.sessions s ON s.id = e.session_id
     WHERE e.session_id IS NOT NULL AND e.outputs @> ARRAY[p_id]
       AND s.media_id <> p_id
     ORDER BY s.created_at, e.session_step;
    -- A SQLSTATE of editroom's own (23R01), so the service can tell this refusal from any
    -- other and name the session (and its original) in fields a client reads
    -- (service/kernel/db.py, service/domain/library.py). In class 23, integrity constraint
    -- violation (a step's output holds it, as a foreign key would), which a service that does
    -- not know the code still answers as a conflict.
    IF FOUND THEN
        RAISE EXCEPTION 'media % is the output of step % of session %; delete the session first',
            p_id, v_edit.session_step, v_edit.session_id
            USING ERRCODE = '23R01';
    END IF;
    DELETE FROM editroom.media WHERE id = p_id;
    RETURN v_media;
END
$$;

COMMENT ON FUNCTION editroom.delete_media(uuid) IS
'Deletes media p_id and returns the row (the caller then deletes its stored object). Refuses '
'while an edit that reads it is queued, processing or waiting to retry, while it is the '
'original of a session with a step still to run, and while it is the output of a step of a '
'session (SQLSTATE 23R01, editroom''s own: delete the session first; deleting an original '
'deletes its sessions). Finished '
'edits keep their history with media_id set to NULL.';

CREATE OR REPLACE FUNCTION editroom.expired_pending_media(p_limit integer DEFAULT 1000)
RETURNS SETOF editroom.media
LANGUAGE sql
AS $$
    DELETE FROM editroom.media
     WHERE id IN (SELECT id FROM editroom.media
                   WHERE status = 'pending' AND expires_at < now()
                   ORDER BY expires_at LIMIT p_limit
                     FOR UPDATE SKIP LOCKED)
    RETURNING *;
$$;

COMMENT ON FUNCTION editroom.expired_pending_media(integer) IS
'Deletes up to p_limit presigned uploads that expired without being completed and returns '
'them, so the caller can delete their stored objects.';

CREATE OR REPLACE FUNCTION editroom.unreferenced_storage_keys(p_keys text[])
RETURNS SETOF text
LANGUAGE sql
STABLE
AS $$
    SELECT k.key FROM unnest(p_keys) AS k (key)
     WHERE NOT EXISTS (SELECT 1 FROM editroom.media m WHERE m.storage_key = k.key);
$$;

COMMENT ON FUNCTION editroom.unreferenced_storage_keys(text[]) IS
'Of the given storage keys, those no media row refers to: orphans the clean-up may delete.';
