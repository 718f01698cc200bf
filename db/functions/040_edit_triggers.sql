-- Wake slots: NOTIFY only when someone may be waiting for it. PostgreSQL serialises every
-- committing transaction that has sent a NOTIFY through one cluster-wide lock held across its
-- WAL flush, so notifying commits cannot share a group commit (bench/lifecycle.py measures
-- it). A watcher of a channel (a runner with free slots for a lane of editroom_queue, see
-- lane_channel below; the service's listener while
-- it has a subscriber, or a DBA's psql, for editroom_edit_events) LISTENs first, then holds
-- all wake_slot_count() slots of the channel SHARED at session level (watch_channel), then
-- reads the state it cares about, then waits for notifications. A statement with something
-- to announce tries its backend's slot EXCLUSIVE for its transaction (watched):
--   * taken: no watcher held that slot, so none held all slots. A watcher that takes its
--     locks later blocks on this slot until the transaction ends; locks are released after
--     the commit is visible, so the watcher's read (after its locks) sees this statement's
--     work. One that was mid-way through its slots is the same case. Nothing to NOTIFY.
--   * not taken: a watcher holds it (or, rarely, another transaction of a backend whose pid
--     is the same modulo the slot count). NOTIFY as before; every watcher holding locks is
--     already listening, so it is told at commit.
-- So no wake-up is lost however the two interleave; a transaction that tries again in a
-- later statement re-decides on the same footing. Writers never wait (they only try);
-- watchers wait for writers, never the reverse: no deadlock. A writer's transaction left open
-- would hold a watcher back, so watchers take the slots under a short lock_timeout and poll
-- while they cannot (service/kernel/db.py, WakeSlots). What this does not cover: a watcher whose
-- LISTEN connection dropped (it re-reads everything when it reconnects, as before), a
-- watcher's lock session dying while its LISTEN lives (runners still poll every
-- EDITROOM_POLL_INTERVAL_SECONDS; the service checks its lock session on a short tick and
-- re-reads when it had to take the locks again), and a session that both watches and writes:
-- its own locks never conflict with themselves, so it is told of its own statements only
-- when another watcher is about. Only advisory keys (wake_key(channel), 0..63) are used.
CREATE OR REPLACE FUNCTION editroom.wake_slot_count()
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT 64 $$;

COMMENT ON FUNCTION editroom.wake_slot_count() IS
'How many wake slots each notified channel has: a watcher holds them all shared, a notifying '
'statement tries its backend''s one exclusive (040_edit_triggers.sql).';

CREATE OR REPLACE FUNCTION editroom.wake_key(p_channel text)
RETURNS int
LANGUAGE sql IMMUTABLE
AS $$ SELECT hashtext('editroom.wake:' || p_channel) & 2147483647 $$;

COMMENT ON FUNCTION editroom.wake_key(text) IS
'The first advisory lock key of a channel''s wake slots (the second is the slot number).';

CREATE OR REPLACE FUNCTION editroom.watched(p_channel text)
RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT NOT pg_try_advisory_xact_lock(editroom.wake_key(p_channel),
                                         pg_backend_pid() % editroom.wake_slot_count())
$$;

COMMENT ON FUNCTION editroom.watched(text) IS
'Whether a statement must NOTIFY p_channel: false when it could take its backend''s wake slot '
'(held, exclusive, to the end of the transaction: no watcher now, and a later one waits for the '
'commit, then reads). Called only by a statement that has something to announce.';

CREATE OR REPLACE FUNCTION editroom.held_wake_slots(p_channel text)
RETURNS SETOF int
LANGUAGE sql STABLE
AS $$
    SELECT l.objid::int FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.pid = pg_backend_pid() AND l.objsubid = 2
       AND l.classid = editroom.wake_key(p_channel)::oid AND l.mode = 'ShareLock' AND l.granted
$$;

COMMENT ON FUNCTION editroom.held_wake_slots(text) IS
'The wake slots of p_channel this session holds shared.';

CREATE OR REPLACE FUNCTION editroom.watch_channel(p_channel text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- Only the slots not held yet, each once: a watch cut short (a timeout) is completed by
    -- the next, and one unwatch always lets go.
    PERFORM pg_advisory_lock_shared(editroom.wake_key(p_channel), s.slot)
       FROM generate_series(0, editroom.wake_slot_count() - 1) AS s(slot)
      WHERE s.slot NOT IN (SELECT editroom.held_wake_slots(p_channel))
      ORDER BY s.slot;
END
$$;

COMMENT ON FUNCTION editroom.watch_channel(text) IS
'Hold p_channel''s wake slots shared for this session (LISTEN first, read after): statements '
'then NOTIFY p_channel. Waits for transactions that skipped the NOTIFY to end.';

CREATE OR REPLACE FUNCTION editroom.unwatch_channel(p_channel text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_advisory_unlock_shared(editroom.wake_key(p_channel), s.slot)
       FROM editroom.held_wake_slots(p_channel) AS s(slot);
END
$$;

COMMENT ON FUNCTION editroom.unwatch_channel(text) IS
'Let go of p_channel''s wake slots: statements stop sending it NOTIFYs unless someone else watches.';

-- Both channels the service watches for its subscribers, each apart: the edits' (every
-- subscriber) and the library's (220_media_events.sql: only for event streams shown it).
CREATE OR REPLACE FUNCTION editroom.watch_events()
RETURNS void
LANGUAGE sql
AS $$
    SELECT editroom.watch_channel(c.channel)
      FROM unnest(ARRAY['editroom_edit_events', 'editroom_media_events']) AS c (channel)
$$;

COMMENT ON FUNCTION editroom.watch_events() IS
'For a session that LISTENs editroom_edit_events or editroom_media_events (a DBA''s psql): '
'without it, their events are sent only while the service has a subscriber. LISTEN first, then '
'call this; it lasts until unwatch_events() or the session ends. Events of this session''s own '
'statements come only when someone else watches too.';

CREATE OR REPLACE FUNCTION editroom.unwatch_events()
RETURNS void
LANGUAGE sql
AS $$
    SELECT editroom.unwatch_channel(c.channel)
      FROM unnest(ARRAY['editroom_edit_events', 'editroom_media_events']) AS c (channel)
$$;

COMMENT ON FUNCTION editroom.unwatch_events() IS
'Undoes watch_events() for this session.';

-- The queue is watched lane by lane: a runner whose image slots are all busy lets go of the
-- image lane's slots while it keeps watching video and imports, so image edits queued
-- meanwhile send no NOTIFY (a runner's video and import slots are nearly always free: were the
-- queue watched whole, nearly every enqueue would notify). The NOTIFY still goes to the one
-- channel editroom_queue that runners LISTEN to.
CREATE OR REPLACE FUNCTION editroom.lane_channel(p_kind text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT 'editroom_queue:' || coalesce(p_kind, 'image') $$;

COMMENT ON FUNCTION editroom.lane_channel(text) IS
'The wake slots of the lane of edits of kind p_kind (image, video, import; an edit from before '
'lanes, of no kind, counts as an image): while a watcher holds them, edits of that kind that '
'become claimable NOTIFY editroom_queue.';

CREATE OR REPLACE FUNCTION editroom.watch_queue()
RETURNS void
LANGUAGE sql
AS $$
    SELECT editroom.watch_channel(editroom.lane_channel(k.kind))
      FROM unnest(ARRAY['image', 'video', 'import']) AS k (kind)
$$;

COMMENT ON FUNCTION editroom.watch_queue() IS
'For a session that LISTENs editroom_queue (a DBA''s psql, a tool that claims): watches every '
'lane, so from then on whatever becomes claimable sends it a NOTIFY (runners watch each lane '
'apart, watch_channel(lane_channel(kind)), while it has free slots). A session that only '
'LISTENs is not woken.';

CREATE OR REPLACE FUNCTION editroom.unwatch_queue()
RETURNS void
LANGUAGE sql
AS $$
    SELECT editroom.unwatch_channel(editroom.lane_channel(k.kind))
      FROM unnest(ARRAY['image', 'video', 'import']) AS k (kind)
$$;

COMMENT ON FUNCTION editroom.unwatch_queue() IS
'Undoes watch_queue() for this session.';

CREATE OR REPLACE FUNCTION editroom.wake_runners(p_kinds text[])
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    v_claimable bigint;
BEGIN
    -- One wake-up however many edits became claimable, counting those whose lane a runner
    -- watches; each lane's slot is tried once (see wake slots above).
    SELECT coalesce(sum(k.n), 0) INTO v_claimable
      FROM (SELECT editroom.lane_channel(c.kind) AS channel, count(*) AS n
              FROM unnest(p_kinds) AS c (kind)
             GROUP BY 1) AS k
     WHERE editroom.watched(k.channel);
    IF v_claimable > 0 THEN
        PERFORM pg_notify('editroom_queue', v_claimable::text);
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.wake_runners(text[]) IS
'Called by the edits triggers with the kind of every edit a statement made claimable: NOTIFY '
'editroom_queue once, with how many are in lanes some runner watches, if any is.';

-- Bookkeeping that must never be skipped, once per statement: status counters (and each
-- workflow's), the attempt log, and one wake-up for runners however many rows became
-- claimable. Sessions keep their steps in a trigger of their own (300_sessions.sql).
CREATE OR REPLACE FUNCTION editroom.edits_after_insert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_claimable text[];  -- the kinds of the edits made claimable
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(d.n))
       FROM (SELECT status, count(*) AS n FROM new_edits GROUP BY status) AS d;
    -- A workflow's executions, only for a statement with some: the others never plan the call
    -- (a database migrated down below 0017 has not bump_workflow_counts, and still enqueues).
    IF EXISTS (SELECT FROM new_edits WHERE workflow_id IS NOT NULL) THEN
        PERFORM editroom.bump_workflow_counts(array_agg(d.workflow_id), array_agg(d.status),
                                              array_agg(d.n))
           FROM (SELECT workflow_id, status, count(*) AS n FROM new_edits
                  WHERE workflow_id IS NOT NULL GROUP BY workflow_id, status) AS d;
    END IF;

    SELECT array_agg(kind) INTO v_claimable
      FROM new_edits
     WHERE editroom.edit_claimable(status, blocked_by, run_after);
    IF v_claimable IS NOT NULL THEN
        PERFORM editroom.wake_runners(v_claimable);  -- idle runners (see wake slots above)
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_insert() IS
'Statement trigger on edits: counts new rows by status (and by workflow) and NOTIFYs editroom_queue with how many '
'are claimable now, when a runner watches the lane of one of them (wake_runners).';

CREATE OR REPLACE FUNCTION editroom.edits_after_update()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_claimable text[];  -- the kinds of the edits made claimable
    v_lowered record;
    v_statuses editroom.edit_status[];  -- the statement's change to each status's count
    v_deltas bigint[];
    v_workflow_ids uuid[];  -- and to each workflow's, by status, where it moved
    v_workflow_statuses editroom.edit_status[];
    v_workflow_deltas bigint[];
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

    -- The status counters and each workflow's from one pass over the statement's changes:
    -- by status, and by workflow and status (one sort gives both: a rollup of the second).
    SELECT array_agg(d.status) FILTER (WHERE d.by_status),
           array_agg(d.n) FILTER (WHERE d.by_status),
           array_agg(d.workflow_id) FILTER (WHERE d.in_workflow),
           array_agg(d.status) FILTER (WHERE d.in_workflow),
           array_agg(d.n) FILTER (WHERE d.in_workflow)
      INTO v_statuses, v_deltas, v_workflow_ids, v_workflow_statuses, v_workflow_deltas
      FROM (SELECT c.workflow_id, c.status, sum(c.delta) AS n,
                   GROUPING(c.workflow_id) = 1 AS by_status,
                   GROUPING(c.workflow_id) = 0 AND c.workflow_id IS NOT NULL
                       AND sum(c.delta) <> 0 AS in_workflow  -- a heartbeat moves none
              FROM (SELECT workflow_id, status, 1 AS delta FROM new_edits
                    UNION ALL
                    SELECT workflow_id, status, -1 FROM old_edits) AS c
             GROUP BY GROUPING SETS ((c.status), (c.status, c.workflow_id))) AS d;
    PERFORM editroom.bump_status_counts(v_statuses, v_deltas);
    IF v_workflow_ids IS NOT NULL THEN
        PERFORM editroom.bump_workflow_counts(v_workflow_ids, v_workflow_statuses,
                                              v_workflow_deltas);
    END IF;

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

    SELECT array_agg(n.kind) INTO v_claimable
      FROM new_edits n
      JOIN old_edits o ON o.id = n.id
     WHERE editroom.edit_claimable(n.status, n.blocked_by, n.run_after)
       AND NOT editroom.edit_claimable(o.status, o.blocked_by, o.run_after);
    IF v_claimable IS NOT NULL THEN
        PERFORM editroom.wake_runners(v_claimable);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_update() IS
'Statement trigger on edits: refuses a trial that goes down; moves the status counters (and the workflows''); opens an edit_attempts row (with the edit''s kind) on each claim '
'and closes it (outcome, error, duration) when the edit leaves processing; NOTIFYs '
'editroom_queue with how many rows became claimable (when a runner watches their lane). A session''s steps are kept by their own '
'trigger, edits_after_update_sessions (300_sessions.sql).';

CREATE OR REPLACE FUNCTION editroom.edits_after_delete()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(-d.n))
       FROM (SELECT status, count(*) AS n FROM old_edits GROUP BY status) AS d;
    -- Only for a statement with workflow edits, as edits_after_insert says why.
    IF EXISTS (SELECT FROM old_edits WHERE workflow_id IS NOT NULL) THEN
        PERFORM editroom.bump_workflow_counts(array_agg(d.workflow_id), array_agg(d.status),
                                              array_agg(-d.n))
           FROM (SELECT workflow_id, status, count(*) AS n FROM old_edits
                  WHERE workflow_id IS NOT NULL GROUP BY workflow_id, status) AS d;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_delete() IS
'Statement trigger on edits: takes deleted rows (archived, or deleted by hand) off the status '
'counters and the workflows''.';

-- One notification per statement, not per row: PostgreSQL serialises every notifying commit
-- on one cluster-wide lock, so a claim of ten edits or a runner's heartbeat of all it holds
-- sends one. A payload holds at most EVENTS_PER_NOTIFICATION events (NOTIFY's limit is 8000
-- bytes; an event is about 110). And only when someone watches (wake slots, above), but for
-- an edit taken out of processing other than by its completion (cancelled, failed or reaped
-- under its runner, released): its runner stops at once on it (runners do not watch events).
-- Those are rare; the hot path's completions notify only when watched.
CREATE OR REPLACE FUNCTION editroom.edits_notify_event()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
    v_ids uuid[];  -- the edits to announce, in the order the statement wrote them
    v_stopped bigint := 0;
BEGIN
    -- Only the choice of rows differs (an UPDATE trigger alone has old_edits); ids, not
    -- events, so that the statement nobody watches builds no JSON.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.id) INTO v_ids FROM new_edits n;
    ELSE
        SELECT array_agg(n.id),
               count(*) FILTER (WHERE o.status = 'processing'
                                  AND n.status NOT IN ('processing', 'completed'))
          INTO v_ids, v_stopped
          FROM new_edits n JOIN old_edits o ON o.id = n.id
         WHERE o.status IS DISTINCT FROM n.status
            OR o.progress IS DISTINCT FROM n.progress
            OR o.progress_detail IS DISTINCT FROM n.progress_detail;
    END IF;
    IF v_ids IS NULL THEN  -- no row
        RETURN NULL;
    END IF;
    IF v_stopped = 0 AND NOT editroom.watched('editroom_edit_events') THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('editroom_edit_events', c.events)
       FROM (SELECT json_agg(json_build_object('id', n.id, 'status', n.status,
                                              'trial', n.trial, 'progress', n.progress)
                             ORDER BY a.position)::text
                    AS events
               FROM unnest(v_ids) WITH ORDINALITY AS a (id, position)
               JOIN new_edits n ON n.id = a.id
              GROUP BY (a.position - 1) / 50
              ORDER BY (a.position - 1) / 50) c;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_notify_event() IS
'Statement trigger on edits: NOTIFY editroom_edit_events with a JSON array of '
'{"id","status","trial","progress"}, one element per edit created or whose status or progress '
'(or progress_detail) changed, at most 50 per notification: one notification per statement; '
'only when someone watches (watch_events), or an edit left processing other than by '
'completing (cancelled, failed, reaped, released: its runner stops at once).';

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
    DELETE FROM editroom.workflow_edit_counts;
    INSERT INTO editroom.workflow_edit_counts (workflow_id, status, shard, n)
    SELECT h.workflow_id, h.status, 0, sum(h.n) FROM editroom.workflow_history_counts h
     GROUP BY h.workflow_id, h.status;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edits_after_truncate() IS
'Statement trigger on edits: TRUNCATE takes the truncated edits off the status counters and the '
'workflows'' (archived ones stay counted).';

CREATE OR REPLACE TRIGGER edits_after_truncate
    AFTER TRUNCATE ON editroom.edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edits_after_truncate();
