-- Bookkeeping that must never be skipped, once per statement: status counters, the attempt
-- log, and one wake-up for runners however many rows became claimable. Sessions keep their
-- steps in a trigger of their own (300_sessions.sql).
CREATE OR REPLACE FUNCTION editroom.edits_after_insert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_claimable bigint;
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(d.n))
       FROM (SELECT status, count(*) AS n FROM new_edits GROUP BY status) AS d;

    SELECT count(*) INTO v_claimable
      FROM new_edits
     WHERE editroom.edit_claimable(status, blocked_by, run_after);
    IF v_claimable > 0 THEN
        PERFORM pg_notify('editroom_queue', v_claimable::text);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_insert() IS
'Statement trigger on edits: counts new rows by status and NOTIFYs editroom_queue with how many '
'are claimable now.';

CREATE OR REPLACE FUNCTION editroom.edits_after_update()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_claimable bigint;
    v_lowered record;
BEGIN
    -- Attempts are numbered by the trial (edit_attempts' key) and fenced by it: a trial that
    -- went down would make the next claim of that edit collide with an earlier attempt.
    SELECT n.id, o.trial AS was, n.trial AS now INTO v_lowered
      FROM new_edits n JOIN old_edits o ON o.id = n.id
     WHERE n.trial < o.trial
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'edit %: trial cannot go down (from % to %); raise max_trials instead',
            v_lowered.id, v_lowered.was, v_lowered.now USING ERRCODE = 'check_violation';
    END IF;

    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(d.n))
       FROM (SELECT status, sum(delta) AS n
               FROM (SELECT status, 1 AS delta FROM new_edits
                     UNION ALL
                     SELECT status, -1 FROM old_edits) AS changes
              GROUP BY status) AS d;

    -- An attempt ends when its edit leaves processing, whatever moved it.
    UPDATE editroom.edit_attempts a
       SET finished_at = now(),
           outcome = CASE WHEN n.status = 'queued' THEN 'released'
                          ELSE n.status::text END::editroom.attempt_outcome,
           error = n.error
      FROM old_edits o
      JOIN new_edits n ON n.id = o.id
     WHERE o.status = 'processing' AND n.status <> 'processing'
       AND a.edit_id = o.id AND a.trial = o.trial AND a.finished_at IS NULL;

    -- A claim starts one, labelled with the edit's kind, so that monitoring reads attempts
    -- alone (attempt_duration_quantiles), even once their edit is archived.
    INSERT INTO editroom.edit_attempts (edit_id, trial, worker, started_at, kind)
    SELECT n.id, n.trial, n.locked_by, n.started_at, editroom.edit_kind(m.kind, n.ops)
      FROM new_edits n
      JOIN old_edits o ON o.id = n.id
      LEFT JOIN editroom.media m ON m.id = n.media_id
     WHERE n.status = 'processing' AND o.status <> 'processing';

    SELECT count(*) INTO v_claimable
      FROM new_edits n
      JOIN old_edits o ON o.id = n.id
     WHERE editroom.edit_claimable(n.status, n.blocked_by, n.run_after)
       AND NOT editroom.edit_claimable(o.status, o.blocked_by, o.run_after);
    IF v_claimable > 0 THEN
        PERFORM pg_notify('editroom_queue', v_claimable::text);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_update() IS
'Statement trigger on edits: refuses a trial that goes down; moves the status counters; opens an edit_attempts row (with the edit''s kind) on each claim '
'and closes it (outcome, error, duration) when the edit leaves processing; NOTIFYs '
'editroom_queue with how many rows became claimable. A session''s steps are kept by their own '
'trigger, edits_after_update_sessions (300_sessions.sql).';

CREATE OR REPLACE FUNCTION editroom.edits_after_delete()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(-d.n))
       FROM (SELECT status, count(*) AS n FROM old_edits GROUP BY status) AS d;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_delete() IS
'Statement trigger on edits: takes deleted rows (archived, or deleted by hand) off the status '
'counters.';

-- One notification per statement, not per row: PostgreSQL serialises every notifying commit
-- on one cluster-wide lock, so a claim of ten edits or a runner's heartbeat of all it holds
-- sends one. A payload holds at most EVENTS_PER_NOTIFICATION events (NOTIFY's limit is 8000
-- bytes; an event is about 110).
CREATE OR REPLACE FUNCTION editroom.edits_notify_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('editroom_edit_events', c.events)
           FROM (SELECT json_agg(json_build_object('id', n.id, 'status', n.status,
                                                  'trial', n.trial, 'progress', n.progress)
                                 ORDER BY n.position)::text
                        AS events
                   FROM (SELECT n.*, row_number() OVER () AS position FROM new_edits n) n
                  GROUP BY (n.position - 1) / 50
                  ORDER BY (n.position - 1) / 50) c;
    ELSE
        PERFORM pg_notify('editroom_edit_events', c.events)
           FROM (SELECT json_agg(json_build_object('id', n.id, 'status', n.status,
                                                  'trial', n.trial, 'progress', n.progress)
                                 ORDER BY n.position)::text
                        AS events
                   FROM (SELECT n.*, row_number() OVER () AS position
                           FROM new_edits n JOIN old_edits o ON o.id = n.id
                          WHERE o.status IS DISTINCT FROM n.status
                             OR o.progress IS DISTINCT FROM n.progress
                             OR o.progress_detail IS DISTINCT FROM n.progress_detail) n
                  GROUP BY (n.position - 1) / 50
                  ORDER BY (n.position - 1) / 50) c;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_notify_event() IS
'Statement trigger on edits: NOTIFY editroom_edit_events with a JSON array of '
'{"id","status","trial","progress"}, one element per edit created or whose status or progress '
'(or progress_detail) changed, at most 50 per notification: one notification per statement.';

CREATE OR REPLACE TRIGGER edits_after_insert
    AFTER INSERT ON editroom.edits
    REFERENCING NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_insert();

CREATE OR REPLACE TRIGGER edits_after_update
    AFTER UPDATE ON editroom.edits
    REFERENCING OLD TABLE AS old_edits NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_update();

CREATE OR REPLACE TRIGGER edits_after_delete
    AFTER DELETE ON editroom.edits
    REFERENCING OLD TABLE AS old_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_delete();

CREATE OR REPLACE TRIGGER edits_event_on_insert
    AFTER INSERT ON editroom.edits
    REFERENCING NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_notify_event();

CREATE OR REPLACE TRIGGER edits_event_on_update
    AFTER UPDATE ON editroom.edits
    REFERENCING OLD TABLE AS old_edits NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_notify_event();

-- TRUNCATE skips row and DELETE triggers; without this the counters would keep counting
-- edits that no longer exist. Archived edits (edit_history) are not truncated with edits:
-- they stay counted.
CREATE OR REPLACE FUNCTION editroom.edits_after_truncate()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    DELETE FROM editroom.edit_status_counts;
    INSERT INTO editroom.edit_status_counts (status, shard, n)
    SELECT h.status, 0, sum(h.n) FROM editroom.edit_history_counts h GROUP BY h.status;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_truncate() IS
'Statement trigger on edits: TRUNCATE takes the truncated edits off the status counters (archived '
'ones stay counted).';

CREATE OR REPLACE TRIGGER edits_after_truncate
    AFTER TRUNCATE ON editroom.edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_truncate();
