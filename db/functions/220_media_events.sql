-- The library's changes, told to whoever shows it: a media that became ready (uploaded, made by
-- an edit, a presigned upload completed) or no longer only a copy an address made (by_address
-- cleared: listed as anyone's now), and a ready media deleted. As for edits
-- (040_edit_triggers.sql), one notification per statement, not per row (every notifying commit
-- takes one cluster-wide lock), and only while someone watches the channel (its wake slots:
-- the service while an event stream told of the library's changes is open, not for a
-- `?wait=` or an edit's stream). A notification names the media, at most 50, and
-- what became of them; it is a hint to look again: the service reads those media again, and
-- one no longer there is gone. Pending uploads are no one's to see, so they are not told of.
CREATE OR REPLACE FUNCTION editroom.media_notify_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_ids uuid[];  -- the media to announce, in the order the statement wrote them
    v_change text := CASE WHEN TG_OP = 'DELETE' THEN 'deleted' ELSE 'ready' END;
BEGIN
    -- Ids first, so that the statement nobody watches builds no JSON.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO v_ids FROM new_media n WHERE n.status = 'ready';
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(n.id) INTO v_ids
          FROM new_media n JOIN old_media o ON o.id = n.id
         WHERE n.status = 'ready'
           AND (o.status <> 'ready' OR o.by_address IS DISTINCT FROM n.by_address);
    ELSE
        SELECT array_agg(o.id) INTO v_ids FROM old_media o WHERE o.status = 'ready';
    END IF;
    IF v_ids IS NULL OR NOT editroom.watched('editroom_media_events') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('editroom_media_events', c.events)
       FROM (SELECT json_agg(json_build_object('id', a.id, 'change', v_change)
                             ORDER BY a.position)::text AS events
               FROM unnest(v_ids) WITH ORDINALITY AS a (id, position)
              GROUP BY (a.position - 1) / 50
              ORDER BY (a.position - 1) / 50) c;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.media_notify_event() IS
'Statement trigger on media: NOTIFY editroom_media_events with a JSON array of {"id","change"} '
'(change: ready or deleted), one element per media that became ready, had its by_address mark '
'cleared, or was deleted while ready, at most 50 per notification: one notification per '
'statement, only while someone watches the channel (the service; a psql: watch_events()).';

CREATE OR REPLACE TRIGGER media_event_on_insert
    AFTER INSERT ON editroom.media
    REFERENCING NEW TABLE AS new_media
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.media_notify_event();

CREATE OR REPLACE TRIGGER media_event_on_update
    AFTER UPDATE ON editroom.media
    REFERENCING OLD TABLE AS old_media NEW TABLE AS new_media
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.media_notify_event();

CREATE OR REPLACE TRIGGER media_event_on_delete
    AFTER DELETE ON editroom.media
    REFERENCING OLD TABLE AS old_media
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.media_notify_event();
