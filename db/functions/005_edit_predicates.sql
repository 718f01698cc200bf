-- The two rules every query about the queue shares, written once. Plain SQL expressions over
-- the row's columns, so the planner inlines them: a caller's WHERE reads as if the expression
-- were written there, and still matches the partial indexes (edits_claimable_idx's predicate
-- is the first two conditions of edit_claimable, minus the clock).

CREATE OR REPLACE FUNCTION editroom.edit_claimable(
    p_status editroom.edit_status,
    p_blocked_by uuid,
    p_run_after timestamptz
)
RETURNS boolean
LANGUAGE sql
STABLE  -- now(); a STABLE body is still inlined
PARALLEL SAFE
AS $$
    SELECT p_status IN ('queued', 'error') AND p_blocked_by IS NULL AND p_run_after <= now();
$$;

COMMENT ON FUNCTION editroom.edit_claimable(editroom.edit_status, uuid, timestamptz) IS
'Whether an edit with these columns is one a runner could claim now: queued, or error past its '
'back-off (run_after <= now()), and not waiting for an earlier step of its session (blocked_by '
'NULL). claim_edits, the editroom_queue NOTIFY and oldest_claimable_seconds all use it. '
'Call it with the row''s columns: edit_claimable(e.status, e.blocked_by, e.run_after).';

CREATE OR REPLACE FUNCTION editroom.edit_still_to_run(p_status editroom.edit_status)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT p_status IN ('queued', 'processing', 'error');
$$;

COMMENT ON FUNCTION editroom.edit_still_to_run(editroom.edit_status) IS
'Whether an edit in status p_status has yet to finish: queued, processing, or error (waiting '
'to retry). Its negation is finished: completed, failed or cancelled. A session with an edit '
'still to run is busy; media an edit still to run reads cannot be deleted.';
