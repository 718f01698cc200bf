CREATE OR REPLACE FUNCTION editroom.reap_expired_leases()
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v_edit record;
    v_expired uuid[];
    v_reaped integer := 0;
BEGIN
    -- Sessions before steps, as whatever ends a step takes them (020_held_edits.sql): locking
    -- the edits first and then, in fail_edit, their sessions would wait on a cancel or a
    -- completion holding a session and waiting for its step.
    SELECT array_agg(id) INTO v_expired
      FROM editroom.edits WHERE status = 'processing' AND lease_until < now();
    PERFORM editroom.lock_sessions_of(v_expired);
    -- SKIP LOCKED: runners reap on a schedule and may do so at the same moment; the lease and
    -- status are read again under the lock. NO KEY UPDATE: a step being added to a session may
    -- reference one of these meanwhile (its foreign key's KEY SHARE).
    FOR v_edit IN
        SELECT id, locked_by, lease_until, trial
          FROM editroom.edits
         WHERE id = ANY (v_expired) AND status = 'processing' AND lease_until < now()
         ORDER BY lease_until
           FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        -- Each in a subtransaction of its own: one edit that cannot be ended (a row edited by
        -- hand into a state fail_edit refuses, say) is told and left, and every other is
        -- still reaped, on this run and the next.
        BEGIN
            PERFORM editroom.fail_edit(
                v_edit.id,
                v_edit.locked_by,
                format('lease expired at %s: worker %s stopped heartbeating',
                       v_edit.lease_until, v_edit.locked_by),
                true,
                v_edit.trial
            );
            v_reaped := v_reaped + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'cannot reap edit %: %', v_edit.id, SQLERRM
                USING DETAIL = 'Its lease expired; it stays processing until it can be ended.';
        END;
    END LOOP;
    -- Housekeeping on the same schedule: the counters of connections that have closed.
    PERFORM editroom.compact_status_counts();
    RETURN v_reaped;
END
$$;

COMMENT ON FUNCTION editroom.reap_expired_leases() IS
'Treats every processing edit whose lease has expired (its worker vanished) as a failed, '
'retryable attempt: error with back-off while trials remain, failed after the last one. '
'Returns how many it reaped; one that cannot be ended is left with a WARNING naming it, and '
'the others are reaped. Runners call it on a schedule; calling it by hand is safe. Also folds '
'the status counters of closed connections (compact_status_counts).';
