CREATE OR REPLACE FUNCTION editroom.bump_status_counts(
    p_statuses editroom.edit_status[],
    p_deltas bigint[]
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- PL/pgSQL, not SQL: every statement on edits calls this from its trigger, and a SQL
    -- function holding an INSERT is planned afresh at each call, where PL/pgSQL keeps the
    -- plan for the session (an enqueue took twice as long).
    -- The rows of this backend only (shard = its pid): no other transaction ever updates
    -- them, so however a trigger cascade orders its statuses, no two transactions can wait on
    -- each other here. (Rows shared by several backends deadlocked: a failed session step
    -- takes processing then queued, a claim queued then processing.)
    INSERT INTO editroom.edit_status_counts AS c (status, shard, n)
    SELECT d.status, pg_backend_pid(), d.delta
      FROM unnest(p_statuses, p_deltas) AS d (status, delta)
     WHERE d.delta <> 0
    ON CONFLICT (status, shard) DO UPDATE SET n = c.n + excluded.n;
END
$$;

COMMENT ON FUNCTION editroom.bump_status_counts(editroom.edit_status[], bigint[]) IS
'Adds per-status deltas to this backend''s counters behind status_counts(). Called by the '
'edits triggers.';

CREATE OR REPLACE FUNCTION editroom.bump_workflow_counts(
    p_workflow_ids uuid[],
    p_statuses editroom.edit_status[],
    p_deltas bigint[]
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    -- bump_status_counts' scheme, per workflow: the rows of this backend only (shard = its
    -- pid), so in whatever order a statement's workflows and statuses come, no two
    -- transactions wait on each other here. Summed first: a row is updated once a statement.
    INSERT INTO editroom.workflow_edit_counts AS c (workflow_id, status, shard, n)
    SELECT d.workflow_id, d.status, pg_backend_pid(), sum(d.delta)
      FROM unnest(p_workflow_ids, p_statuses, p_deltas) AS d (workflow_id, status, delta)
     WHERE d.workflow_id IS NOT NULL
     GROUP BY d.workflow_id, d.status
    HAVING sum(d.delta) <> 0
    ON CONFLICT (workflow_id, status, shard) DO UPDATE SET n = c.n + excluded.n;
END
$$;

COMMENT ON FUNCTION editroom.bump_workflow_counts(uuid[], editroom.edit_status[], bigint[]) IS
'Adds deltas by workflow and status to this backend''s counters behind workflow_status_counts '
'(edits of no workflow, a NULL id, are left out). Called by the edits and edit_history '
'triggers, and by retention.';

CREATE OR REPLACE FUNCTION editroom.compact_status_counts()
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_workflow_ids uuid[];
    v_statuses editroom.edit_status[];
    v_deltas bigint[];
    v_folded integer;
    v_folded_workflows integer;
    v_gone_shards integer[];  -- backends that have exited, with workflows' counters
BEGIN
    -- Folds the rows of backends that have exited into this one's. SKIP LOCKED: it never
    -- waits, so it cannot take part in a cycle; a row in use now is left for next time.
    WITH gone AS (
        DELETE FROM editroom.edit_status_counts c
         WHERE (c.status, c.shard) IN (
                   SELECT o.status, o.shard FROM editroom.edit_status_counts o
                    WHERE o.shard <> pg_backend_pid()
                      AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = o.shard)
                      FOR UPDATE SKIP LOCKED)
        RETURNING c.status, c.n
    )
    SELECT array_agg(g.status), array_agg(g.n), coalesce(sum(g.rows), 0)
      INTO v_statuses, v_deltas, v_folded
      FROM (SELECT status, sum(n)::bigint AS n, count(*) AS rows FROM gone GROUP BY status) g;
    IF v_folded > 0 THEN
        PERFORM editroom.bump_status_counts(v_statuses, v_deltas);
    END IF;
    -- The workflows' counters alike. They have rows for every workflow a backend counted:
    -- the shards are found first, one index probe each (a loose scan of
    -- workflow_edit_counts_shard_idx), and rows are read only when one of them is gone.
    WITH RECURSIVE shards AS (
        SELECT min(c.shard) AS shard FROM editroom.workflow_edit_counts c
        UNION ALL
        SELECT (SELECT min(c.shard) FROM editroom.workflow_edit_counts c
                 WHERE c.shard > shards.shard)
          FROM shards WHERE shards.shard IS NOT NULL
    )
    SELECT array_agg(shards.shard) INTO v_gone_shards FROM shards
     WHERE shards.shard IS NOT NULL AND shards.shard <> pg_backend_pid()
       AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = shards.shard);
    v_folded_workflows := 0;
    IF v_gone_shards IS NOT NULL THEN
        WITH gone AS (
            DELETE FROM editroom.workflow_edit_counts c
             WHERE (c.workflow_id, c.status, c.shard) IN (
                       SELECT o.workflow_id, o.status, o.shard
                         FROM editroom.workflow_edit_counts o
                        WHERE o.shard = ANY (v_gone_shards)
                          FOR UPDATE SKIP LOCKED)
            RETURNING c.workflow_id, c.status, c.n
        )
        SELECT array_agg(g.workflow_id), array_agg(g.status), array_agg(g.n),
               coalesce(sum(g.rows), 0)
          INTO v_workflow_ids, v_statuses, v_deltas, v_folded_workflows
          FROM (SELECT workflow_id, status, sum(n)::bigint AS n, count(*) AS rows
                  FROM gone GROUP BY workflow_id, status) g;
    END IF;
    IF v_folded_workflows > 0 THEN
        PERFORM editroom.bump_workflow_counts(v_workflow_ids, v_statuses, v_deltas);
    END IF;
    RETURN v_folded + v_folded_workflows;
END
$$;

COMMENT ON FUNCTION editroom.compact_status_counts() IS
'Folds the status counters of backends that have exited into this backend''s, so '
'status_counts() and workflow_status_counts read a few rows per live connection (and workflow). '
'Never waits on a lock. Returns how many rows it folded. The runners'' maintenance calls it '
'(through reap_expired_leases).';

CREATE OR REPLACE FUNCTION editroom.status_counts()
RETURNS TABLE (status text, count bigint)
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    -- PL/pgSQL keeps the query's plan for the session. As a SQL function (its search_path
    -- pinned, so never inlined) it was planned anew at every call: 0.17 ms a call against
    -- 0.06, paid by every POST /edit's admission.
    RETURN QUERY
    SELECT s.status::text, coalesce(sum(c.n), 0)::bigint
      FROM unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
      LEFT JOIN editroom.edit_status_counts c ON c.status = s.status
     GROUP BY s.status
     ORDER BY s.status;
END
$$;

COMMENT ON FUNCTION editroom.status_counts() IS
'How many edits are in each status, one row per status with zeros included. Reads the counters '
'the triggers keep (a row per status and connection), never the edits table, so it stays fast however many '
'finished edits are kept.';

CREATE OR REPLACE FUNCTION editroom.recount_status_counts()
RETURNS SETOF editroom.edit_status_counts
LANGUAGE plpgsql
AS $$
BEGIN
    -- Blocks writers for the length of one count(*): a repair lever, not a routine call.
    -- Archived edits count too, and each day of them is recounted for retention.
    LOCK TABLE editroom.edits, editroom.edit_history IN SHARE MODE;
    DELETE FROM editroom.edit_status_counts;
    INSERT INTO editroom.edit_status_counts (status, shard, n)
    SELECT a.status, 0, count(*) FROM editroom.all_edits a GROUP BY a.status;
    DELETE FROM editroom.edit_history_counts;
    INSERT INTO editroom.edit_history_counts (day, status, shard, n)
    SELECT (h.finished_at AT TIME ZONE 'UTC')::date, h.status, 0, count(*)
      FROM editroom.edit_history h GROUP BY 1, 2;
    DELETE FROM editroom.workflow_edit_counts;
    INSERT INTO editroom.workflow_edit_counts (workflow_id, status, shard, n)
    SELECT a.workflow_id, a.status, 0, count(*) FROM editroom.all_edits a
     WHERE a.workflow_id IS NOT NULL GROUP BY 1, 2;
    DELETE FROM editroom.workflow_history_counts;
    INSERT INTO editroom.workflow_history_counts (day, workflow_id, status, shard, n)
    SELECT (h.finished_at AT TIME ZONE 'UTC')::date, h.workflow_id, h.status, 0, count(*)
      FROM editroom.edit_history h WHERE h.workflow_id IS NOT NULL GROUP BY 1, 2, 3;
    RETURN QUERY SELECT * FROM editroom.edit_status_counts ORDER BY status, shard;
END
$$;

COMMENT ON FUNCTION editroom.recount_status_counts() IS
'Rebuilds the status counters, and the workflows'' (workflow_status_counts), from a full count '
'of editroom.edits and edit_history (e.g. after someone ran with triggers disabled). Takes a '
'SHARE lock on both while it counts.';
