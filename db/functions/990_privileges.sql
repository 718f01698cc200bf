-- Runs last, after every function above exists: what a DBA sees of the SQL API.
--
-- Every function resolves names in editroom, then pg_catalog, and pg_temp last, whatever the
-- caller's search_path, so a table or function someone puts in another schema (or a
-- temporary one) can never stand in for ours. The exception are the expressions written to
-- be inlined into their callers' queries (edit_claimable, edit_still_to_run, edit_held,
-- edit_kind; the wake slots' wake_slot_count, wake_key, lane_channel and watched): a SET on
-- a function stops the planner inlining it, and with it the partial indexes' use, and makes
-- each call a SQL function run of its own (about 55 us for watched, which every enqueue
-- calls twice, against 2 us inlined). Their bodies name no table, only parameters, literals,
-- built-ins (which pg_catalog resolves first anyway) and, schema-qualified, each other.
--
-- PUBLIC may execute the functions the README documents (its SQL section lists them); the
-- helpers they are built of (lock_*, the counters' bump and compact, trigger functions, the
-- argument checks check_*, raise_not_held, next_session_step, forget_lost_media,
-- restore_archived_edit, history_day_exists, history_lock_key, the wake slots' watched,
-- watch_channel, lane_channel, wake_runners and the rest) only the owner, which the service,
-- the runners and postgres_exporter connect as. A function new here is internal until
-- added below and to the README; tests/integration/test_sql_privileges.py checks both.
DO $$
DECLARE
    v_function regprocedure;
    v_name text;
BEGIN
    FOR v_function, v_name IN
        SELECT p.oid::regprocedure, p.proname
          FROM pg_proc p
         WHERE p.pronamespace = 'editroom'::regnamespace
    LOOP
        IF v_name NOT IN ('edit_claimable', 'edit_still_to_run', 'edit_held', 'edit_kind',
                          'wake_slot_count', 'wake_key', 'lane_channel', 'watched') THEN
            EXECUTE format('ALTER FUNCTION %s SET search_path = editroom, pg_catalog, pg_temp',
                           v_function);
        END IF;
        IF v_name IN (
            -- the queue
            'enqueue_edit', 'enqueue_edits', 'enqueue_edit_once', 'enqueue_edit_once_admitted', 'claim_edits', 'claim_edit', 'claim_edits_in_lanes', 'heartbeat_edit', 'heartbeat_edits',
            'complete_edit', 'complete_edits', 'fail_edit', 'release_edit', 'cancel_edit',
            'retry_edit', 'retry_refusal', 'reap_expired_leases', 'status_counts', 'prune_finished_edits',
            'recount_status_counts', 'backoff_delay', 'archive_finished_edits',
            'add_history_partition', 'find_edit', 'list_edits', 'take_idempotency_key',
            'take_idempotency_key_with_left_out',
            'keep_idempotency_key', 'forget_expired_idempotency_keys', 'watch_queue',
            'unwatch_queue', 'watch_events', 'unwatch_events',
            -- predicates for a DBA's own queries
            'edit_claimable', 'edit_still_to_run', 'edit_held', 'edit_kind',
            -- media, sessions, workflows, imports
            'add_media', 'create_pending_media', 'complete_pending_media', 'delete_media',
            'expired_pending_media', 'unreferenced_storage_keys', 'open_session',
            'enqueue_session_edit', 'undo_session', 'redo_session', 'delete_session',
            'session_head_media',
            'create_workflow', 'live_workflow_named', 'workflow_version_is', 'update_workflow',
            'delete_workflow', 'run_workflow', 'run_workflow_once', 'enqueue_import',
            'set_progress_detail',
            -- monitoring
            'database_health', 'oldest_claimable_seconds', 'attempt_duration_quantiles',
            'media_totals'
        ) THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', v_function);
        ELSE
            EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', v_function);
        END IF;
    END LOOP;
END
$$;
