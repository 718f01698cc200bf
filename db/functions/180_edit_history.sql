-- Finished history off the hot table. editroom.edits holds what is still to run, a session's
-- steps (its undo chain, kept while the session is), and edits finished recently. The runners'
-- maintenance moves older finished edits, with their attempts, in bounded batches into
-- edit_history and edit_attempt_history, partitioned by the day (UTC) they finished; retention
-- then drops whole days, never deleting row by row. editroom.all_edits reads both tables.

-- Archiving (shared) and retention (exclusive) take this advisory lock, so a day is never
-- dropped while an archiver is writing into it. Neither waits for it: each tries, and leaves
-- the work for its next round when the other holds it.
CREATE OR REPLACE FUNCTION editroom.history_lock_key()
RETURNS bigint
LANGUAGE sql
IMMUTABLE
AS $$
    SELECT hashtextextended('editroom.edit_history', 0);
$$;

COMMENT ON FUNCTION editroom.history_lock_key() IS
'The advisory lock archive_finished_edits holds shared and prune_finished_edits exclusive.';

CREATE OR REPLACE FUNCTION editroom.add_history_partition(p_day date)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
    v_suffix text := to_char(p_day, 'YYYYMMDD');
    v_from timestamptz := p_day::timestamp AT TIME ZONE 'UTC';
    v_to timestamptz := (p_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    IF to_regclass('editroom.edit_history_p' || v_suffix) IS NOT NULL
       AND to_regclass('editroom.edit_attempt_history_p' || v_suffix) IS NOT NULL THEN
        RETURN false;
    END IF;
    -- Two archivers needing the same new day: the second waits here, then finds it made.
    PERFORM pg_advisory_xact_lock(hashtextextended('editroom.edit_history_partition', 0));
    EXECUTE format('CREATE TABLE IF NOT EXISTS editroom.%I PARTITION OF editroom.edit_history '
                   'FOR VALUES FROM (%L) TO (%L)', 'edit_history_p' || v_suffix, v_from, v_to);
    EXECUTE format('CREATE TABLE IF NOT EXISTS editroom.%I PARTITION OF '
                   'editroom.edit_attempt_history FOR VALUES FROM (%L) TO (%L)',
                   'edit_attempt_history_p' || v_suffix, v_from, v_to);
    RETURN true;
END
$$;

COMMENT ON FUNCTION editroom.add_history_partition(date) IS
'Creates the partitions of edit_history and edit_attempt_history for day p_day (UTC), named '
'edit_history_pYYYYMMDD and edit_attempt_history_pYYYYMMDD, unless they exist; returns whether '
'it made them. archive_finished_edits calls it for each day it needs; a DBA may make days '
'ahead. Creating a partition takes a brief ACCESS EXCLUSIVE lock on the parent table.';

-- The counters of archived edits move with them: status_counts() keeps counting every edit
-- that exists (edit_status_counts), and edit_history_counts says how many of each day's
-- partition are in each status, so dropping a day takes exactly those off.
CREATE OR REPLACE FUNCTION editroom.edit_history_after_insert()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(d.n))
       FROM (SELECT status, count(*) AS n FROM new_edits GROUP BY status) AS d;
    INSERT INTO editroom.edit_history_counts AS c (day, status, shard, n)
    SELECT (n.finished_at AT TIME ZONE 'UTC')::date, n.status, pg_backend_pid(), count(*)
      FROM new_edits n
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (day, status, shard) DO UPDATE SET n = c.n + excluded.n;
    -- Only for a statement with workflow edits: the others never plan these statements (a
    -- database migrated down below 0017 has not their tables, and still archives).
    IF EXISTS (SELECT FROM new_edits WHERE workflow_id IS NOT NULL) THEN
        PERFORM editroom.bump_workflow_counts(array_agg(d.workflow_id), array_agg(d.status),
                                              array_agg(d.n))
           FROM (SELECT workflow_id, status, count(*) AS n FROM new_edits
                  WHERE workflow_id IS NOT NULL GROUP BY workflow_id, status) AS d;
        INSERT INTO editroom.workflow_history_counts AS c (day, workflow_id, status, shard, n)
        SELECT (n.finished_at AT TIME ZONE 'UTC')::date, n.workflow_id, n.status,
               pg_backend_pid(), count(*)
          FROM new_edits n
         WHERE n.workflow_id IS NOT NULL
         GROUP BY 1, 2, 3
        ON CONFLICT (day, workflow_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edit_history_after_insert() IS
'Statement trigger on edit_history: counts archived rows by status (status_counts()) and by day '
'and status (edit_history_counts, which retention subtracts when it drops a day); a workflow''s '
'alike (workflow_edit_counts, workflow_history_counts).';

CREATE OR REPLACE FUNCTION editroom.edit_history_after_delete()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM editroom.bump_status_counts(array_agg(d.status), array_agg(-d.n))
       FROM (SELECT status, count(*) AS n FROM old_edits GROUP BY status) AS d;
    INSERT INTO editroom.edit_history_counts AS c (day, status, shard, n)
    SELECT (o.finished_at AT TIME ZONE 'UTC')::date, o.status, pg_backend_pid(), -count(*)
      FROM old_edits o
     GROUP BY 1, 2
     ORDER BY 1, 2
    ON CONFLICT (day, status, shard) DO UPDATE SET n = c.n + excluded.n;
    -- Only for a statement with workflow edits: the others never plan these statements (a
    -- database migrated down below 0017 has not their tables, and still archives).
    IF EXISTS (SELECT FROM old_edits WHERE workflow_id IS NOT NULL) THEN
        PERFORM editroom.bump_workflow_counts(array_agg(d.workflow_id), array_agg(d.status),
                                              array_agg(-d.n))
           FROM (SELECT workflow_id, status, count(*) AS n FROM old_edits
                  WHERE workflow_id IS NOT NULL GROUP BY workflow_id, status) AS d;
        INSERT INTO editroom.workflow_history_counts AS c (day, workflow_id, status, shard, n)
        SELECT (o.finished_at AT TIME ZONE 'UTC')::date, o.workflow_id, o.status,
               pg_backend_pid(), -count(*)
          FROM old_edits o
         WHERE o.workflow_id IS NOT NULL
         GROUP BY 1, 2, 3
        ON CONFLICT (day, workflow_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION editroom.edit_history_after_delete() IS
'Statement trigger on edit_history: takes rows moved back to edits (retry_edit) off the '
'counters.';

CREATE OR REPLACE TRIGGER edit_history_after_insert
    AFTER INSERT ON editroom.edit_history
    REFERENCING NEW TABLE AS new_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edit_history_after_insert();

CREATE OR REPLACE TRIGGER edit_history_after_delete
    AFTER DELETE ON editroom.edit_history
    REFERENCING OLD TABLE AS old_edits
    FOR EACH STATEMENT EXECUTE FUNCTION editroom.edit_history_after_delete();

CREATE OR REPLACE FUNCTION editroom.history_day_exists(p_at timestamptz)
RETURNS boolean
LANGUAGE sql
STABLE
AS $$
    SELECT to_regclass('editroom.edit_history_p' || d) IS NOT NULL
       AND to_regclass('editroom.edit_attempt_history_p' || d) IS NOT NULL
      FROM (SELECT to_char((p_at AT TIME ZONE 'UTC')::date, 'YYYYMMDD') AS d) day;
$$;

COMMENT ON FUNCTION editroom.history_day_exists(timestamptz) IS
'Whether the day (UTC) of p_at has its partitions of edit_history and edit_attempt_history.';

CREATE OR REPLACE FUNCTION editroom.archive_finished_edits(
    p_older_than interval DEFAULT '10 minutes',
    p_limit integer DEFAULT 1000
)
RETURNS integer
LANGUAGE plpgsql
SET lock_timeout = '200ms'  -- making a day's partition: give up rather than stall readers
AS $$
DECLARE
    v_ids uuid[];
    v_day date;
    v_moved integer;
BEGIN
    IF NOT pg_try_advisory_xact_lock_shared(editroom.history_lock_key()) THEN
        RETURN 0;  -- retention is dropping days; next round
    END IF;
    -- The days this batch needs, made before any row is locked: making one waits for the
    -- readers of history, and none of them may be waiting for a row this batch holds (a
    -- retry_edit reads history, then waits for its edit's row). Readers still busy after
    -- lock_timeout: the batch is left for the next round.
    FOR v_day IN
        SELECT DISTINCT (d.at AT TIME ZONE 'UTC')::date
          FROM (SELECT e.id, e.finished_at FROM editroom.edits e
                 WHERE e.status IN ('completed', 'failed', 'cancelled') AND e.session_id IS NULL
                   AND e.finished_at < now() - p_older_than
                 ORDER BY e.finished_at
                 LIMIT p_limit) p
         CROSS JOIN LATERAL (SELECT p.finished_at
                             UNION ALL
                             SELECT a.finished_at FROM editroom.edit_attempts a
                              WHERE a.edit_id = p.id AND a.finished_at IS NOT NULL) d (at)
         WHERE NOT editroom.history_day_exists(d.at)
    LOOP
        BEGIN
            PERFORM editroom.add_history_partition(v_day);
        EXCEPTION WHEN lock_not_available THEN
            RETURN 0;
        END;
    END LOOP;

    -- The archiver's partial index holds finished edits that are not session steps, oldest
    -- first: a batch reads its own rows, never the steps sessions keep. SKIP LOCKED: an edit
    -- being retried or read for update stays for the next round, and so does one whose day
    -- has no partition yet (it came into the batch after the look above).
    SELECT array_agg(f.id) INTO v_ids
      FROM (SELECT e.id, e.finished_at FROM editroom.edits e
             WHERE e.status IN ('completed', 'failed', 'cancelled') AND e.session_id IS NULL
               AND e.finished_at < now() - p_older_than
             ORDER BY e.finished_at
             LIMIT p_limit
               FOR UPDATE SKIP LOCKED) f
     WHERE editroom.history_day_exists(f.finished_at)
       AND NOT EXISTS (SELECT 1 FROM editroom.edit_attempts a
                        WHERE a.edit_id = f.id
                          AND NOT editroom.history_day_exists(coalesce(a.finished_at,
                                                                       f.finished_at)));
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;

    -- Attempts first, while their edits are still here to say when they finished (an attempt
    -- is closed when its edit leaves processing; the edit's finish is only a safety net).
    WITH moved AS (
        DELETE FROM editroom.edit_attempts a
         USING editroom.edits e
         WHERE a.edit_id = ANY (v_ids) AND e.id = a.edit_id
        RETURNING a.edit_id, a.trial, a.worker, a.started_at,
                  coalesce(a.finished_at, e.finished_at) AS finished_at, a.outcome, a.error,
                  a.kind
    )
    INSERT INTO editroom.edit_attempt_history (edit_id, trial, worker, started_at, finished_at,
                                               outcome, error, kind)
    SELECT * FROM moved;

    WITH moved AS (
        DELETE FROM editroom.edits e WHERE e.id = ANY (v_ids) RETURNING e.*
    )
    INSERT INTO editroom.edit_history SELECT * FROM moved;
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    RETURN v_moved;
END
$$;

COMMENT ON FUNCTION editroom.archive_finished_edits(interval, integer) IS
'Moves up to p_limit edits that finished (completed, failed, cancelled) more than p_older_than '
'ago, and their attempts, from edits and edit_attempts into edit_history and '
'edit_attempt_history, oldest first. A session''s steps stay in edits while the session exists. '
'Reads only the rows it moves (edits_archivable_idx). Returns how many; call again until it '
'returns less than p_limit. Returns 0 without waiting while retention runs or, when it must '
'make a day''s partitions, while readers of history hold them past its 200 ms lock_timeout. '
'Archived edits are still read by every API path (find_edit, list_edits, all_edits).';

CREATE OR REPLACE FUNCTION editroom.restore_archived_edit(p_id uuid)
RETURNS boolean
LANGUAGE plpgsql
AS $$
BEGIN
    -- Two at once: the second waits for the first's delete, then finds nothing to move.
    WITH moved AS (
        DELETE FROM editroom.edit_history h WHERE h.id = p_id RETURNING h.*
    )
    INSERT INTO editroom.edits SELECT * FROM moved;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    WITH moved AS (
        DELETE FROM editroom.edit_attempt_history a WHERE a.edit_id = p_id RETURNING a.*
    )
    INSERT INTO editroom.edit_attempts (edit_id, trial, worker, started_at, finished_at, outcome,
                                        error, kind)
    SELECT m.edit_id, m.trial, m.worker, m.started_at, m.finished_at, m.outcome, m.error, m.kind
      FROM moved m;
    RETURN true;
END
$$;

COMMENT ON FUNCTION editroom.restore_archived_edit(uuid) IS
'Moves archived edit p_id and its attempts back into edits and edit_attempts (retry_edit calls '
'it); returns false when it is not archived.';

CREATE OR REPLACE FUNCTION editroom.find_edit(p_id uuid)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Most lookups are of edits still in edits: one primary-key probe, and history (an index
    -- per day kept, and planning over every day) only when that finds nothing. STABLE: both
    -- statements see the caller's snapshot, so an edit moving meanwhile is found once.
    RETURN QUERY SELECT * FROM editroom.edits WHERE id = p_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT * FROM editroom.edit_history WHERE id = p_id;
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.find_edit(uuid) IS
'Edit p_id wherever it is: in edits, or else archived in edit_history; no row when neither has '
'it. What GET /edit/{id} reads.';

CREATE OR REPLACE FUNCTION editroom.list_edits(
    p_status editroom.edit_status DEFAULT NULL,
    p_media_id uuid DEFAULT NULL,
    p_session_id uuid DEFAULT NULL,
    p_workflow_id uuid DEFAULT NULL,
    p_after_at timestamptz DEFAULT NULL,
    p_after_id uuid DEFAULT NULL,
    p_limit integer DEFAULT 50,
    p_by_address boolean DEFAULT NULL
)
RETURNS SETOF editroom.edits
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- Only the filters given are written into the statement. An optional filter written
    -- `$1 IS NULL OR status = $1` is not simplified inside the UNION ALL of all_edits, and the
    -- planner, unsure how many rows it keeps, then sorts every edit and every day instead of
    -- merging each one's index in (created_at, id) order. Archived edits belong to no
    -- session (a session's steps are archived once it is deleted): a session's listing reads
    -- edits alone.
    RETURN QUERY EXECUTE format(
        'SELECT * FROM editroom.%s WHERE %s ORDER BY created_at DESC, id DESC LIMIT $7',
        CASE WHEN p_session_id IS NULL THEN 'all_edits' ELSE 'edits' END,
        concat_ws(' AND ', 'true',
                  CASE WHEN p_status IS NOT NULL THEN 'status = $1' END,
                  CASE WHEN p_media_id IS NOT NULL THEN 'media_id = $2' END,
                  CASE WHEN p_session_id IS NOT NULL THEN 'session_id = $3' END,
                  CASE WHEN p_workflow_id IS NOT NULL THEN 'workflow_id = $4' END,
                  CASE WHEN p_after_at IS NOT NULL THEN '(created_at, id) < ($5, $6)' END,
                  CASE WHEN p_by_address IS NOT NULL THEN 'by_address = $8' END))
    USING p_status, p_media_id, p_session_id, p_workflow_id, p_after_at, p_after_id, p_limit,
          p_by_address;
END
$$;

COMMENT ON FUNCTION editroom.list_edits(editroom.edit_status, uuid, uuid, uuid, timestamptz, uuid, integer, boolean) IS
'Edits newest first, live and archived (all_edits), each filter optional: status, media, '
'session, workflow, by_address (true: only copies result addresses made; false: the rest); '
'keyset pages after (p_after_at, p_after_id), the last row of the page before. Merges the indexes of edits and of each day of history in that order, so a page '
'reads about a page of rows per table and day. What GET /edit and a workflow''s executions '
'read.';

CREATE OR REPLACE FUNCTION editroom.prune_finished_edits(p_older_than interval DEFAULT '30 days')
RETURNS bigint
LANGUAGE plpgsql
SET lock_timeout = '200ms'  -- dropping a partition: give up rather than stall readers
AS $$
DECLARE
    v_day date;
    v_statuses editroom.edit_status[];
    v_counts bigint[];
    v_workflow_ids uuid[];
    v_dropped bigint;
    v_pruned bigint := 0;
BEGIN
    IF NOT pg_try_advisory_xact_lock(editroom.history_lock_key()) THEN
        RETURN 0;  -- an archiver is writing; next round
    END IF;
    FOR v_day IN
        SELECT p.day
          FROM (SELECT to_date(right(c.relname, 8), 'YYYYMMDD') AS day
                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent IN ('editroom.edit_history'::regclass,
                                       'editroom.edit_attempt_history'::regclass)) p
         WHERE (p.day + 1)::timestamp AT TIME ZONE 'UTC' <= now() - p_older_than
         GROUP BY p.day
         ORDER BY p.day
    LOOP
        BEGIN
            EXECUTE format('DROP TABLE IF EXISTS editroom.%I, editroom.%I',
                           'edit_history_p' || to_char(v_day, 'YYYYMMDD'),
                           'edit_attempt_history_p' || to_char(v_day, 'YYYYMMDD'));
        EXCEPTION WHEN lock_not_available THEN
            EXIT;  -- a long reader of history holds it: this day and later ones next round
        END;
        -- Its edits, off the counters: what the day's inserts and deletes added up to.
        SELECT array_agg(d.status), array_agg(-d.n), coalesce(sum(d.n), 0)
          INTO v_statuses, v_counts, v_dropped
          FROM (SELECT c.status, sum(c.n)::bigint AS n FROM editroom.edit_history_counts c
                 WHERE c.day = v_day GROUP BY c.status) d;
        PERFORM editroom.bump_status_counts(v_statuses, v_counts);
        v_pruned := v_pruned + v_dropped;
        DELETE FROM editroom.edit_history_counts WHERE day = v_day;
        -- And off their workflows' counters.
        SELECT array_agg(w.workflow_id), array_agg(w.status), array_agg(-w.n)
          INTO v_workflow_ids, v_statuses, v_counts
          FROM (SELECT c.workflow_id, c.status, sum(c.n)::bigint AS n
                  FROM editroom.workflow_history_counts c
                 WHERE c.day = v_day GROUP BY c.workflow_id, c.status) w;
        IF v_workflow_ids IS NOT NULL THEN
            PERFORM editroom.bump_workflow_counts(v_workflow_ids, v_statuses, v_counts);
        END IF;
        DELETE FROM editroom.workflow_history_counts WHERE day = v_day;
    END LOOP;
    RETURN v_pruned;
END
$$;

COMMENT ON FUNCTION editroom.prune_finished_edits(interval) IS
'Retention: drops each day of archived edits and attempts (edit_history, edit_attempt_history) '
'that ended more than p_older_than ago, whole partitions at a time, and takes their edits off '
'status_counts() and workflow_status_counts. Costs a few catalog changes per day, whatever a day holds; reads no edit. '
'Edits still in edits (recent, or a session''s steps) are not touched: archive_finished_edits '
'moves them first. Returns how many edits it dropped.';
