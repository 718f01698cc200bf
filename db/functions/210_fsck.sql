-- What `editroom fsck --repair-missing` may do to a ready media whose stored object is gone.
-- The bytes cannot come back, so the row only misleads (listed, yet every read and edit of it
-- fails); forgetting it is the one repair, and only where no one's work depends on it.

CREATE OR REPLACE FUNCTION editroom.forget_lost_media(p_id uuid)
RETURNS editroom.media
LANGUAGE plpgsql
AS $$
DECLARE
    v_session uuid;
BEGIN
    -- Locked first: a session opened meanwhile waits for us, then finds no media.
    PERFORM 1 FROM editroom.media WHERE id = p_id AND status = 'ready' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'media % does not exist', p_id USING ERRCODE = 'no_data_found';
    END IF;
    -- Deleting an original deletes its sessions and their history: a person's choice.
    SELECT s.id INTO v_session FROM editroom.sessions s WHERE s.media_id = p_id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'media % is the original of session %; delete the session or the media '
            'yourself', p_id, v_session USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- delete_media refuses while an edit still to run reads it, or a session step made it.
    RETURN editroom.delete_media(p_id);
END
$$;

COMMENT ON FUNCTION editroom.forget_lost_media(uuid) IS
'Deletes ready media p_id whose stored object is lost (editroom fsck --repair-missing) and '
'returns the row. Refuses, as delete_media does, while an edit still to run reads it or a '
'session step produced it, and also while a session starts from it (that would delete the '
'session''s history).';

-- The release before's fsck calls this one (a row at 0 s only): kept as it was, not made to
-- call the one below, so that going back past 0022, which drops that one, leaves it working.
-- It can be dropped a release later.
CREATE OR REPLACE FUNCTION editroom.record_measured_duration(
    p_id uuid,
    p_duration_seconds double precision
)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    -- Not "NOT > 0" alone: NaN passes it (PostgreSQL orders NaN above every number), and a
    -- row saying NaN would be neither unknown (0 s) nor a length, never measured again.
    IF p_duration_seconds IS NULL
       OR NOT (p_duration_seconds > 0 AND p_duration_seconds < 'Infinity') THEN
        RAISE EXCEPTION 'p_duration_seconds must be a positive number of seconds, got %',
            p_duration_seconds USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Only a length recorded as none (0 s, read as unknown): a measured one is never replaced,
    -- and a media deleted or measured meanwhile is left as it is (false).
    UPDATE editroom.media SET duration_seconds = p_duration_seconds
     WHERE id = p_id AND status = 'ready' AND kind = 'video' AND duration_seconds <= 0;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION editroom.record_measured_duration(uuid, double precision) IS
'Records p_duration_seconds, measured by editroom fsck from the stored object, as the length '
'of ready video p_id whose row says 0 s (uploads from before the probe read a header''s 0 as no '
'length). True when recorded; false when the media is gone, is not a ready video, or has its '
'length known. Raises unless p_duration_seconds is a positive, finite number (not NaN).';

CREATE OR REPLACE FUNCTION editroom.record_measured_duration(
    p_id uuid,
    p_duration_seconds double precision,
    p_replacing double precision
)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    -- Not "NOT > 0" alone: NaN passes it (PostgreSQL orders NaN above every number), and a
    -- row saying NaN would be neither unknown (0 s) nor a length, never measured again.
    IF p_duration_seconds IS NULL
       OR NOT (p_duration_seconds > 0 AND p_duration_seconds < 'Infinity') THEN
        RAISE EXCEPTION 'p_duration_seconds must be a positive number of seconds, got %',
            p_duration_seconds USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_replacing IS NULL THEN
        RAISE EXCEPTION 'p_replacing must be the length the row was read with (0: unknown)'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- Only the length fsck read before measuring: a media deleted, or whose length was
    -- recorded meanwhile (by another fsck, by a person), is left as it is (false).
    UPDATE editroom.media SET duration_seconds = p_duration_seconds
     WHERE id = p_id AND status = 'ready' AND kind = 'video' AND duration_seconds = p_replacing;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION editroom.record_measured_duration(uuid, double precision, double precision) IS
'Records p_duration_seconds, measured by editroom fsck from the stored object, as the length '
'of ready video p_id in place of p_replacing, the length fsck read before measuring: 0 for a '
'row that says 0 s (unknown: uploads from before the probe read a header''s 0 as no length), '
'else a length recorded before a video lasted as long as its longest stream (fsck '
'--remeasure-videos). True when recorded; false when the media is gone, is not a ready video, '
'or its length is no longer p_replacing. Raises unless p_duration_seconds is a positive, '
'finite number (not NaN).';
