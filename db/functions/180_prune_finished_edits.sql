CREATE OR REPLACE FUNCTION editroom.prune_finished_edits(
    p_older_than interval DEFAULT '30 days',
    p_limit integer DEFAULT 10000
)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_pruned integer;
BEGIN
    -- Bounded batches keep each delete (and the vacuum after it) short.
    WITH doomed AS (
        SELECT id
          FROM editroom.edits
         WHERE status IN ('completed', 'failed', 'cancelled')
           AND finished_at < now() - p_older_than
           AND session_id IS NULL  -- a session's steps are its history: they go with it
         ORDER BY finished_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    )
    DELETE FROM editroom.edits e USING doomed d WHERE e.id = d.id;
    GET DIAGNOSTICS v_pruned = ROW_COUNT;
    RETURN v_pruned;
END
$$;

COMMENT ON FUNCTION editroom.prune_finished_edits(interval, integer) IS
'Deletes up to p_limit completed, failed or cancelled edits (and their attempts) that finished '
'more than p_older_than ago, except the steps of a session that still exists (its history and '
'undo chain; they are pruned once the session is deleted). Returns how many; call again until '
'it returns 0.';
