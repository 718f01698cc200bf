-- What monitoring reads (observability/postgres_exporter/queries.yaml), every scrape. Each
-- stays off the finished history: live edits through the claimable index, recent attempts
-- through the finished_at indexes of edit_attempts and of the newest day of
-- edit_attempt_history (never edits), ready media by kind.

CREATE OR REPLACE FUNCTION editroom.edit_kind(p_media_kind editroom.media_kind, p_ops jsonb)
RETURNS text
LANGUAGE sql
STABLE  -- as its body is (an enum's text is): declared IMMUTABLE, it was never inlined
AS $$
    -- The `kind` label of runner metrics, logs and attempt_duration_quantiles alike. An
    -- import has no source media (500_imports.sql); an edit's media_id is NULL otherwise only
    -- once its media was deleted.
    SELECT CASE
               WHEN p_media_kind IS NOT NULL THEN p_media_kind::text
               WHEN p_ops -> 0 ->> 'op' = 'import' THEN 'import'
               ELSE 'unknown'
           END;
$$;

COMMENT ON FUNCTION editroom.edit_kind(editroom.media_kind, jsonb) IS
'The kind an edit is labelled with in metrics and logs, from its source media''s kind and its '
'operations: image or video; import for an import from a URL (no source media); unknown when '
'its media was deleted.';

CREATE OR REPLACE FUNCTION editroom.oldest_claimable_seconds()
RETURNS double precision
LANGUAGE sql
STABLE
AS $$
    -- Waiting since it became claimable (run_after), not since it was made: a retry that sat
    -- out its back-off has not been waiting for a runner meanwhile.
    SELECT coalesce(extract(epoch FROM now() - min(e.run_after)), 0)::double precision
      FROM editroom.edits e
     WHERE editroom.edit_claimable(e.status, e.blocked_by, e.run_after);
$$;

COMMENT ON FUNCTION editroom.oldest_claimable_seconds() IS
'Seconds the longest-waiting claimable edit (editroom.edit_claimable: queued, or error past its '
'back-off, and not waiting for an earlier step of its session) has been claimable; 0 when none '
'is. Growing steadily: no runner is claiming.';

CREATE OR REPLACE FUNCTION editroom.attempt_duration_quantiles(
    p_window interval DEFAULT '5 minutes'
)
RETURNS TABLE (kind text, outcome text, quantile double precision, seconds double precision)
LANGUAGE sql
STABLE
AS $$
    -- Each attempt carries its edit's kind (set at claim), so this reads attempts only; the
    -- window's bound on finished_at leaves out every older day of archived attempts.
    WITH attempts AS (
        SELECT a.kind, a.outcome, a.started_at, a.finished_at
          FROM editroom.edit_attempts a
         WHERE a.finished_at > now() - p_window
        UNION ALL
        SELECT h.kind, h.outcome, h.started_at, h.finished_at
          FROM editroom.edit_attempt_history h
         WHERE h.finished_at > now() - p_window
    ), recent AS (
        SELECT coalesce(a.kind, 'unknown') AS kind, a.outcome::text AS outcome,
               percentile_cont(ARRAY[0.5, 0.95, 0.99]::double precision[])
                   WITHIN GROUP (ORDER BY extract(epoch FROM a.finished_at - a.started_at))
                   AS seconds
          FROM attempts a
         GROUP BY 1, 2
    )
    SELECT r.kind, r.outcome, q.quantile, q.seconds
      FROM recent r
     CROSS JOIN unnest(ARRAY[0.5, 0.95, 0.99]::double precision[], r.seconds)
           AS q (quantile, seconds)
     ORDER BY 1, 2, 3;
$$;

COMMENT ON FUNCTION editroom.attempt_duration_quantiles(interval) IS
'Median, 95th and 99th percentile of the duration of attempts that finished within p_window, '
'by kind (editroom.edit_kind: image, video, import, unknown; recorded on each attempt when it '
'started) and outcome (every runner''s, exact, from edit_attempts and edit_attempt_history, '
'never reading edits). No rows when none finished.';

CREATE OR REPLACE FUNCTION editroom.media_totals()
RETURNS TABLE (kind text, media bigint, bytes bigint)
LANGUAGE sql
STABLE
AS $$
    SELECT k.kind::text, count(m.id), coalesce(sum(m.size_bytes), 0)::bigint
      FROM unnest(enum_range(NULL::editroom.media_kind)) AS k (kind)
      LEFT JOIN editroom.media m ON m.kind = k.kind AND m.status = 'ready'
     GROUP BY k.kind
     ORDER BY k.kind;
$$;

COMMENT ON FUNCTION editroom.media_totals() IS
'How many media are stored and their bytes, one row per kind with zeros included (ready media '
'only: pending presigned uploads are not stored media yet). Counts the media table.';

CREATE OR REPLACE FUNCTION editroom.database_health()
RETURNS TABLE (notification_queue_usage double precision, oldest_transaction_seconds double precision)
LANGUAGE sql
STABLE
AS $$
    -- Events and wake-ups are NOTIFYs (while someone watches: 040_edit_triggers.sql). A
    -- listener that stops reading (a stalled client's connection, a psql left open after
    -- LISTEN) keeps the notification queue from draining; when it is full, every transaction
    -- that notifies fails. An old open transaction holds back vacuum and the locks a deploy
    -- needs.
    SELECT pg_notification_queue_usage(),
           coalesce(extract(epoch FROM now() - min(a.xact_start)), 0)::double precision
      FROM pg_stat_activity a
     WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid()
       AND a.backend_type = 'client backend';
$$;

COMMENT ON FUNCTION editroom.database_health() IS
'What can stall the whole queue from outside it: the fraction of the NOTIFY queue in use '
'(pg_notification_queue_usage(); 1 means every notifying transaction fails: find the listener '
'that stopped reading in pg_stat_activity) and the age in seconds of the oldest open '
'transaction of any other client (0 when none).';
