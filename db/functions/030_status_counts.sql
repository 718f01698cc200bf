CREATE OR REPLACE FUNCTION editroom.bump_status_counts(
    p_statuses editroom.edit_status[],
    p_deltas bigint[]
)
RETURNS void
LANGUAGE sql
AS $$
    -- One shard per backend: concurrent statements seldom update the same counter row, and
    -- rows are taken in status order so two statements never wait on each other in a cycle.
    INSERT INTO editroom.edit_status_counts AS c (status, shard, n)
    SELECT d.status, (pg_backend_pid() % 16)::smallint, d.delta
      FROM unnest(p_statuses, p_deltas) AS d (status, delta)
     WHERE d.delta <> 0
     ORDER BY d.status
    ON CONFLICT (status, shard) DO UPDATE SET n = c.n + excluded.n;
$$;

COMMENT ON FUNCTION editroom.bump_status_counts(editroom.edit_status[], bigint[]) IS
'Adds per-status deltas to the counters behind status_counts(). Called by the edits triggers.';

CREATE OR REPLACE FUNCTION editroom.status_counts()
RETURNS TABLE (status text, count bigint)
LANGUAGE sql
STABLE
AS $$
    SELECT s.status::text, coalesce(sum(c.n), 0)::bigint
      FROM unnest(enum_range(NULL::editroom.edit_status)) AS s (status)
      LEFT JOIN editroom.edit_status_counts c ON c.status = s.status
     GROUP BY s.status
     ORDER BY s.status;
$$;

COMMENT ON FUNCTION editroom.status_counts() IS
'How many edits are in each status, one row per status with zeros included. Reads the counters '
'the triggers keep (16 rows per status), never the edits table, so it stays fast however many '
'finished edits are kept.';

CREATE OR REPLACE FUNCTION editroom.recount_status_counts()
RETURNS SETOF editroom.edit_status_counts
LANGUAGE plpgsql
AS $$
BEGIN
    -- Blocks writers for the length of one count(*): a repair lever, not a routine call.
    LOCK TABLE editroom.edits IN SHARE MODE;
    DELETE FROM editroom.edit_status_counts;
    INSERT INTO editroom.edit_status_counts (status, shard, n)
    SELECT e.status, 0, count(*) FROM editroom.edits e GROUP BY e.status;
    RETURN QUERY SELECT * FROM editroom.edit_status_counts ORDER BY status, shard;
END
$$;

COMMENT ON FUNCTION editroom.recount_status_counts() IS
'Rebuilds the status counters from a full count of editroom.edits (e.g. after someone ran '
'with triggers disabled). Takes a SHARE lock on edits while it counts.';
