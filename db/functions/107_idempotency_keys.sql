-- Idempotency keys (the Idempotency-Key header of POST /edit and workflow runs): a request
-- retried after a timeout gets the edits the first try made, never a second set. A key is
-- taken and kept in the transaction that makes its edits, so the edits and the key commit
-- together or not at all, and a second request with the key waits for the first to finish.

CREATE OR REPLACE FUNCTION editroom.take_idempotency_key_with_left_out(
    p_key text,
    p_fingerprint text,
    p_window interval DEFAULT '24 hours',
    OUT edit_ids uuid[],
    OUT left_out jsonb
)
LANGUAGE plpgsql
AS $$
DECLARE
    v_found editroom.idempotency_keys;
BEGIN
    IF p_key IS NULL OR p_key !~ '^[\x20-\x7e]{1,255}$' THEN
        RAISE EXCEPTION 'p_key must be 1 to 255 printable ASCII characters, got %', p_key
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_fingerprint IS NULL OR p_fingerprint !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'p_fingerprint must be a SHA-256 in hex, got %', p_fingerprint
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_window IS NULL OR p_window <= interval '0' THEN
        RAISE EXCEPTION 'p_window must be positive, got %', p_window
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- An expired key is free again, whether or not the housekeeping got to it yet.
    DELETE FROM editroom.idempotency_keys WHERE key = p_key AND expires_at <= now();
    -- Two requests with one key at once: the second's INSERT waits on the first's row until
    -- its transaction ends, then conflicts (it committed) or goes in (it rolled back).
    INSERT INTO editroom.idempotency_keys (key, fingerprint, expires_at)
    VALUES (p_key, p_fingerprint, now() + p_window)
    ON CONFLICT (key) DO NOTHING;
    IF FOUND THEN
        RETURN;
    END IF;
    -- A new statement, a new snapshot (read committed): the row the first request committed.
    SELECT * INTO v_found FROM editroom.idempotency_keys WHERE key = p_key FOR UPDATE;
    IF v_found.edit_ids IS NULL THEN
        -- Taken by hand and committed without keep_idempotency_key: nothing was made with it.
        UPDATE editroom.idempotency_keys
           SET fingerprint = p_fingerprint, created_at = now(), expires_at = now() + p_window
         WHERE key = p_key;
        RETURN;
    END IF;
    IF v_found.fingerprint <> p_fingerprint THEN
        RAISE EXCEPTION 'idempotency key % was used at % for another request', p_key,
            v_found.created_at
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'a retry must repeat the route, media, operations and parameters; '
                         'a new request needs a new key';
    END IF;
    -- What a replay answers, both from the row locked above, in this call: a statement of the
    -- caller's own would see it as well (read committed: a new statement, a new snapshot), but
    -- it would be a round trip more on every replay.
    edit_ids := v_found.edit_ids;
    left_out := v_found.left_out;
END
$$;

COMMENT ON FUNCTION editroom.take_idempotency_key_with_left_out(text, text, interval) IS
'Takes idempotency key p_key for a request whose fingerprint (a SHA-256 of its route, media, '
'operations and parameters) is p_fingerprint, for p_window. edit_ids NULL: the key is this '
'transaction''s; make the edits, then keep_idempotency_key(p_key, their ids) before COMMIT. '
'Otherwise the ids of the edits the key made, and left_out, what a workflow batch made with it '
'left out (answer those; make nothing). Raises when the key '
'was used for a request with another fingerprint within its window. A second caller with the '
'same key waits until the first transaction ends.';

-- The form the releases before migration 0020 call, as it was: its result the ids alone. A
-- process of the release before, still running after `db upgrade` (the README's order stops it
-- first; `docker compose up -d --build` or a rolling deploy does not), reads NULL as "the key
-- is ours" and anything else as a replay: a record (edit_ids, left_out), never NULL, made
-- every first request a failed replay. Drop it (a migration) a release after 0020's.
CREATE OR REPLACE FUNCTION editroom.take_idempotency_key(
    p_key text,
    p_fingerprint text,
    p_window interval DEFAULT '24 hours'
)
RETURNS uuid[]
LANGUAGE sql
AS $$
    SELECT t.edit_ids
      FROM editroom.take_idempotency_key_with_left_out(p_key, p_fingerprint, p_window) AS t;
$$;

COMMENT ON FUNCTION editroom.take_idempotency_key(text, text, interval) IS
'take_idempotency_key_with_left_out''s edit_ids alone, as releases before migration 0020 call it: NULL, the '
'key is this transaction''s; else the ids of the edits the key made (a workflow batch''s '
'left_out is read from editroom.idempotency_keys). Kept for processes of that release still '
'running after an upgrade; to be dropped a release later.';

CREATE OR REPLACE FUNCTION editroom.keep_idempotency_key(
    p_key text,
    p_edit_ids uuid[],
    p_left_out jsonb DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    IF p_edit_ids IS NULL THEN
        RAISE EXCEPTION 'p_edit_ids must list the edits made with key %', p_key
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE editroom.idempotency_keys SET edit_ids = p_edit_ids, left_out = p_left_out
     WHERE key = p_key AND edit_ids IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'idempotency key % was not taken by take_idempotency_key, or has its '
            'edits already', p_key
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
END
$$;

COMMENT ON FUNCTION editroom.keep_idempotency_key(text, uuid[], jsonb) IS
'Records p_edit_ids, in order, as the edits idempotency key p_key made, and p_left_out as the '
'media a workflow batch left out (its answer''s left_out, replayed as it is); call it in the '
'transaction that took the key (take_idempotency_key) and made them, before COMMIT.';

CREATE OR REPLACE FUNCTION editroom.forget_expired_idempotency_keys(p_limit integer DEFAULT 10000)
RETURNS integer
LANGUAGE sql
AS $$
    -- A bounded batch, oldest first by the expiry index: the runners' housekeeping calls it
    -- every reap interval, so a backlog shrinks without one long delete.
    WITH expired AS (
        SELECT k.key FROM editroom.idempotency_keys k
         WHERE k.expires_at <= now()
         ORDER BY k.expires_at
         LIMIT p_limit
           FOR UPDATE SKIP LOCKED
    ), forgotten AS (
        DELETE FROM editroom.idempotency_keys k USING expired x WHERE k.key = x.key
        RETURNING 1
    )
    SELECT count(*)::integer FROM forgotten;
$$;

COMMENT ON FUNCTION editroom.forget_expired_idempotency_keys(integer) IS
'Deletes up to p_limit idempotency keys whose window is over (oldest first) and returns how '
'many; the runners call it in their periodic housekeeping. A retry after its key expired '
'makes new edits.';
