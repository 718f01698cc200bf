-- Every statement the service and the runner send. Each calls the editroom.* SQL API; the
-- rules live there. Loaded by service/kernel/db.py; parameters are %(name)s placeholders.

-- name: schema_revision
SELECT version_num AS revision FROM editroom.alembic_version;

-- name: claim_edits
-- Up to limits[i] edits of kind kinds[i] (a runner's free slots per lane), with the source
-- media's row (the runner reads it): a primary-key lookup per claimed row, after the claim.
-- The edit's kind column (its lane) labels its logs and metrics. Only the columns a runner
-- reads (runner/process/execute.py ClaimedEdit, and the queue wait): it parses every one.
SELECT e.id, e.media_id, e.ops, e.trial, e.max_trials, e.kind, e.created_at, e.started_at,
       CASE WHEN m.status = 'ready' THEN to_jsonb(m) END AS source
  FROM editroom.claim_edits_in_lanes(%(worker)s, %(kinds)s::text[], %(limits)s::integer[],
                                     %(lease)s) AS e
  LEFT JOIN editroom.media AS m ON m.id = e.media_id;

-- name: heartbeat_edits
-- One statement for every edit a runner holds, each fenced by the trial it was claimed in;
-- `held` false means stop working on it.
SELECT h.id, h.held
  FROM editroom.heartbeat_edits(%(worker)s, %(ids)s::uuid[], %(trials)s::integer[],
                                %(progress)s::real[], %(details)s::jsonb[], %(lease)s) AS h;

-- name: complete_edits
-- A batch of completions and the media rows of the results they made, in one statement: one
-- round trip and one commit. `outputs` lists every result of every edit in `trials` (edit id
-- -> trial), with its position among its edit's: a known media (`id`), or a new one's
-- add_media parameters. An edit no longer held undoes the whole statement, so no media row is
-- left for a result whose edit did not complete (its stored object is an orphan the clean-up
-- removes).
WITH listed AS (
    SELECT *
      FROM jsonb_to_recordset(%(outputs)s::jsonb) AS o (
               edit_id text, position integer, id uuid, kind editroom.media_kind,
               content_type text, size_bytes bigint, sha256 text, storage_key text,
               original_name text, width integer, height integer,
               duration_seconds double precision, frame_rate double precision,
               video_codec text, audio_codec text, source_edit_id uuid, source_media_id uuid,
               source_seconds double precision)
), added AS (
    SELECT n.edit_id, n.position, (a.media).id
      -- In their order, so each one's uploaded_at (add_media's clock_timestamp) follows the
      -- one before: a nested loop over this ordered scan calls add_media row by row, in
      -- order (what the plan of a LATERAL function call over a subquery is here; SQL does
      -- not promise it, and test_best_frames_become_image_media would tell).
      FROM (SELECT * FROM listed WHERE id IS NULL ORDER BY edit_id, position) AS n
     CROSS JOIN LATERAL editroom.add_media(
           p_kind => n.kind, p_content_type => n.content_type, p_size_bytes => n.size_bytes,
           p_sha256 => n.sha256, p_storage_key => n.storage_key,
           p_original_name => n.original_name, p_width => n.width, p_height => n.height,
           p_duration_seconds => n.duration_seconds, p_frame_rate => n.frame_rate,
           p_video_codec => n.video_codec, p_audio_codec => n.audio_codec,
           p_source_edit_id => n.source_edit_id, p_source_media_id => n.source_media_id,
           p_source_seconds => n.source_seconds) AS a
), outputs AS (
    SELECT edit_id, position, id FROM listed WHERE id IS NOT NULL
    UNION ALL
    SELECT edit_id, position, id FROM added
)
SELECT c.id, c.outputs
  FROM editroom.complete_edits(
      %(worker)s,
      (SELECT jsonb_object_agg(t.key, coalesce(
                  (SELECT jsonb_agg(o.id ORDER BY o.position) FROM outputs o
                    WHERE o.edit_id = t.key),
                  '[]'::jsonb))
         FROM jsonb_object_keys(%(trials)s::jsonb) AS t (key)),
      %(trials)s::jsonb) AS c;

-- name: fail_edit
SELECT id, status
  FROM editroom.fail_edit(%(id)s, %(worker)s, %(error)s, %(retryable)s, %(trial)s);

-- name: release_edits
-- A runner shutting down hands back, in one round trip, what it could not finish; `released`
-- false: it no longer held that one (finished, cancelled or reaped meanwhile).
SELECT r.id, editroom.release_edit(r.id, %(worker)s, r.trial) AS released
  FROM unnest(%(ids)s::uuid[], %(trials)s::integer[]) AS r (id, trial);

-- name: reap_expired_leases
SELECT editroom.reap_expired_leases() AS reaped;

-- name: archive_finished_edits
SELECT editroom.archive_finished_edits(%(older_than)s, %(limit)s) AS archived;

-- name: prune_finished_edits
SELECT editroom.prune_finished_edits(%(older_than)s) AS pruned;

-- name: media_by_id
SELECT * FROM editroom.media WHERE id = %(id)s;

-- name: media_to_edit
-- POST /edit's one look-up: how many edits wait to run (admission, as status_counts says),
-- and the media (NULL columns when there is none).
SELECT w.waiting, m.*
  FROM (SELECT coalesce(sum(c.count), 0)::bigint AS waiting FROM editroom.status_counts() c
         WHERE c.status IN ('queued', 'error')) AS w
  LEFT JOIN editroom.media m ON m.id = %(id)s;

-- name: media_changed
-- The media a live stream was told of (db/functions/220_media_events.sql), those ready: one
-- told of and not found here was deleted.
SELECT * FROM editroom.media WHERE id = ANY(%(ids)s::uuid[]) AND status = 'ready';

-- name: ready_media_by_sha256
SELECT * FROM editroom.media WHERE sha256 = %(sha256)s AND status = 'ready';

-- name: unmark_media_by_address
SELECT m.* FROM editroom.unmark_media_by_address(%(id)s) m WHERE m.id IS NOT NULL;

-- name: add_media
SELECT (a.media).*, a.created
  FROM editroom.add_media(
      p_kind => %(kind)s, p_content_type => %(content_type)s, p_size_bytes => %(size_bytes)s,
      p_sha256 => %(sha256)s, p_storage_key => %(storage_key)s,
      p_original_name => %(original_name)s, p_width => %(width)s, p_height => %(height)s,
      p_duration_seconds => %(duration_seconds)s, p_frame_rate => %(frame_rate)s,
      p_video_codec => %(video_codec)s, p_audio_codec => %(audio_codec)s,
      p_source_edit_id => %(source_edit_id)s, p_source_media_id => %(source_media_id)s,
      p_source_seconds => %(source_seconds)s
  ) AS a;

-- name: pending_uploads
-- Presigned uploads still open (expired ones no longer count, cleaned up or not), and when
-- the first of them expires; the partial index media_pending_idx answers it.
SELECT count(*) AS pending, min(expires_at) AS first_expiry
  FROM editroom.media
 WHERE status = 'pending' AND expires_at > now();

-- name: create_pending_media
SELECT * FROM editroom.create_pending_media(
    %(original_name)s, %(expected_size_bytes)s, %(expires_in)s
);

-- name: complete_pending_media
SELECT (c.media).*, c.created
  FROM editroom.complete_pending_media(
      p_id => %(id)s, p_kind => %(kind)s, p_content_type => %(content_type)s,
      p_size_bytes => %(size_bytes)s, p_sha256 => %(sha256)s, p_storage_key => %(storage_key)s,
      p_width => %(width)s, p_height => %(height)s,
      p_duration_seconds => %(duration_seconds)s, p_frame_rate => %(frame_rate)s,
      p_video_codec => %(video_codec)s, p_audio_codec => %(audio_codec)s
  ) AS c;

-- name: delete_media
SELECT * FROM editroom.delete_media(%(id)s);

-- name: session_holding_media
-- The session (not one it is the original of) whose step made a media, and that session's
-- original: what delete_media's refusal to delete it names, for a client to follow. Its
-- first step, of its oldest session, when several hold it; edits_session_outputs_idx finds them.
SELECT e.session_id, e.session_step, s.media_id AS session_media_id
  FROM editroom.edits e
  JOIN editroom.sessions s ON s.id = e.session_id
 WHERE e.session_id IS NOT NULL AND e.outputs @> ARRAY[%(id)s::uuid]
   AND s.media_id <> %(id)s::uuid
 ORDER BY s.created_at, e.session_step
 LIMIT 1;

-- name: list_media
-- Newest first, keyset on (uploaded_at, id); every filter optional.
SELECT * FROM editroom.media
 WHERE status = 'ready'
   AND (%(kind)s::editroom.media_kind IS NULL OR kind = %(kind)s::editroom.media_kind)
   AND (%(origin)s::text IS NULL OR (origin = 'edit') = (%(origin)s::text = 'edit'))
   AND (%(by_address)s::boolean IS NULL OR by_address = %(by_address)s::boolean)
   AND (%(since)s::timestamptz IS NULL OR uploaded_at >= %(since)s::timestamptz)
   AND (%(before)s::timestamptz IS NULL OR uploaded_at < %(before)s::timestamptz)
   AND (%(after_at)s::timestamptz IS NULL
        OR (uploaded_at, id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY uploaded_at DESC, id DESC
 LIMIT %(limit)s;

-- name: list_media_by_ids
-- list_media of the media the ids name (GET /bucket/upload?id=...): found by the primary key,
-- however large the library. Not a filter of list_media: a plan a prepared list_media keeps
-- for every call would walk the listing index for them, to its end for an id since deleted.
SELECT * FROM editroom.media
 WHERE id = ANY(%(ids)s::uuid[]) AND status = 'ready'
   AND (%(kind)s::editroom.media_kind IS NULL OR kind = %(kind)s::editroom.media_kind)
   AND (%(origin)s::text IS NULL OR (origin = 'edit') = (%(origin)s::text = 'edit'))
   AND (%(by_address)s::boolean IS NULL OR by_address = %(by_address)s::boolean)
   AND (%(since)s::timestamptz IS NULL OR uploaded_at >= %(since)s::timestamptz)
   AND (%(before)s::timestamptz IS NULL OR uploaded_at < %(before)s::timestamptz)
   AND (%(after_at)s::timestamptz IS NULL
        OR (uploaded_at, id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY uploaded_at DESC, id DESC
 LIMIT %(limit)s;

-- name: expired_pending_media
SELECT * FROM editroom.expired_pending_media(%(limit)s);

-- name: unreferenced_storage_keys
SELECT key FROM editroom.unreferenced_storage_keys(%(keys)s) AS key;

-- name: ready_media_page
-- editroom fsck walks every ready media in id order (the primary key), a page at a time.
SELECT id, storage_key, size_bytes, sha256, kind, duration_seconds, video_codec
  FROM editroom.media
 WHERE status = 'ready' AND id > %(after)s
 ORDER BY id
 LIMIT %(limit)s;

-- name: forget_lost_media
SELECT * FROM editroom.forget_lost_media(%(id)s);

-- name: record_measured_duration
SELECT editroom.record_measured_duration(%(id)s, %(duration_seconds)s, %(replacing)s)
       AS recorded;

-- name: enqueue_edit_once
-- durable = false: the commit does not wait for the disk (see Edits.create_once).
SELECT (o.edit).*, o.reused, editroom.retry_refusal(o.edit) IS NULL AS retryable
  FROM (SELECT set_config('synchronous_commit',
                          CASE WHEN %(durable)s THEN 'on' ELSE 'off' END, true)) AS c,
       editroom.enqueue_edit_once(
      p_media_id => %(media_id)s,
      p_ops => %(ops)s::jsonb,
      p_edit_key => %(edit_key)s,
      p_fresh => %(fresh)s,
      p_max_trials => %(max_trials)s,
      p_priority => %(priority)s,
      p_by_address => %(by_address)s
  ) AS o;

-- name: enqueue_edit_once_admitted
-- POST /edit's one round trip once the service knows its media (service/domain/media_to_edit.py):
-- admission, the media still ready, the edit made once. durable as enqueue_edit_once's.
SELECT a.waiting, (a.edit).*, a.reused, editroom.retry_refusal(a.edit) IS NULL AS retryable
  FROM (SELECT set_config('synchronous_commit',
                          CASE WHEN %(durable)s THEN 'on' ELSE 'off' END, true)) AS c,
       editroom.enqueue_edit_once_admitted(
      p_max_queued => %(max_queued)s,
      p_media_id => %(media_id)s,
      p_ops => %(ops)s::jsonb,
      p_edit_key => %(edit_key)s,
      p_fresh => %(fresh)s,
      p_max_trials => %(max_trials)s,
      p_priority => %(priority)s,
      p_by_address => %(by_address)s
  ) AS a;

-- name: take_idempotency_key
-- In the transaction that makes the edits: edit_ids NULL, the key is ours; else the edits it
-- made, and what a workflow batch left out (keep_idempotency_key).
SELECT t.edit_ids, t.left_out
  FROM editroom.take_idempotency_key_with_left_out(%(key)s, %(fingerprint)s, %(window)s) AS t;

-- name: keep_idempotency_key
SELECT editroom.keep_idempotency_key(%(key)s, %(edit_ids)s::uuid[], %(left_out)s::jsonb);

-- name: forget_expired_idempotency_keys
SELECT editroom.forget_expired_idempotency_keys() AS forgotten;

-- name: edits_by_ids
-- The edits an idempotency key made, in the order they were made, live or archived.
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM unnest(%(ids)s::uuid[]) WITH ORDINALITY AS i (id, n)
 CROSS JOIN LATERAL editroom.find_edit(i.id) AS e
 ORDER BY i.n;

-- name: flush_commits
-- A transaction with an id commits with a record, and a synchronous commit waits for the disk
-- to hold the log up to it: every commit before it is durable once this answers.
SELECT pg_current_xact_id() IS NOT NULL AS flushed;

-- name: edit_by_id
-- In edits, or else archived (editroom.find_edit).
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.find_edit(%(id)s) e;

-- name: list_edits
-- Newest first, keyset on (created_at, id); every filter optional; live and archived edits.
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.list_edits(
    p_status => %(status)s::editroom.edit_status, p_media_id => %(media_id)s::uuid,
    p_session_id => %(session_id)s::uuid, p_after_at => %(after_at)s::timestamptz,
    p_after_id => %(after_id)s::uuid, p_limit => %(limit)s,
    p_by_address => %(by_address)s::boolean
) e;

-- name: cancel_edit
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.cancel_edit(%(id)s) e;

-- name: retry_edit
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.retry_edit(%(id)s) e;

-- name: edits_changed
-- The edits a live stream was told of, in every scope (a stream keeps those of its session,
-- workflow or media: live.py's Scope.holds, so that streams of any scope share one read). Live
-- or archived (find_edit: history is read only for an id edits lacks), since an archived
-- edit's by_address mark may be cleared (unmark_by_address), which a listing must hear of.
-- A finished step's `retryable` hangs on the rest of its session (a step still to run, its
-- parent completed): when a step changes status (not progress: it is not processing then),
-- its session's failed and cancelled steps that retrying may yet help are told again too:
-- not those that failed alike, nor those whose parent has not completed (never retryable
-- until it has, and then the parent is told), and of the rest the latest 50 per session, so
-- an event costs the same however long a session's past.
WITH told AS (
    SELECT e.*
      FROM (SELECT DISTINCT u.id FROM unnest(%(ids)s::uuid[]) AS u (id)) AS i
     CROSS JOIN LATERAL editroom.find_edit(i.id) AS e
), again AS (
    SELECT a.*
      FROM (SELECT DISTINCT t.session_id FROM told t
             WHERE t.session_id IS NOT NULL AND t.status <> 'processing') AS s
     CROSS JOIN LATERAL (
        SELECT e.* FROM editroom.edits e
          LEFT JOIN editroom.edits p ON p.id = e.parent_edit_id
         WHERE e.session_id = s.session_id
           AND e.status IN ('failed', 'cancelled') AND NOT e.fails_alike
           AND (e.parent_edit_id IS NULL OR p.id IS NULL OR p.status = 'completed')
           AND e.id <> ALL (%(ids)s::uuid[])
         ORDER BY e.session_step DESC
         LIMIT 50) AS a
)
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable
  FROM (SELECT * FROM told UNION ALL SELECT * FROM again) AS e
 ORDER BY e.created_at, e.id;

-- name: status_counts
SELECT status, count FROM editroom.status_counts();

-- name: media_kinds
-- What an edit reads of each media: its kind, its bytes, whether it has a picture (video_codec),
-- its size and duration (service/domain/source_facts.py).
SELECT id, kind::text, sha256, video_codec, width, height, duration_seconds
  FROM editroom.media WHERE id = ANY(%(ids)s) AND status = 'ready';

-- name: enqueue_session_edit
-- The session's next step, made only if it follows the step the request was planned after
-- (session_plan's next_follows_edit_id): else no edit (its columns NULL), to plan again.
SELECT (s.edit).*, editroom.retry_refusal(s.edit) IS NULL AS retryable
  FROM editroom.enqueue_session_edit(
      p_session_id => %(session_id)s,
      p_ops => %(ops)s::jsonb,
      p_follows_edit_id => %(follows_edit_id)s,
      p_max_trials => %(max_trials)s,
      p_priority => %(priority)s
  ) AS s;

-- name: open_session
SELECT * FROM editroom.open_session(%(media_id)s);

-- name: session_states
-- Sessions with their heads and what undo/redo would do (nothing while steps are still to
-- run): one by id, or a page of them, newest first, keyset on (created_at, id). The page is
-- chosen first, so each state is worked out for the sessions listed only. Whether a session
-- is busy is one probe of edits_session_still_to_run_idx, however many steps wait: what
-- they are is read only to plan a step (session_plan), not at every read of a session.
SELECT s.*,
       editroom.session_head_media(s.id) AS head_media_id,
       busy.busy,
       s.head_edit_id IS NOT NULL AND NOT busy.busy AS can_undo,
       NOT busy.busy AND editroom.redo_step(s.id, s.head_edit_id) IS NOT NULL AS can_redo
  FROM (SELECT * FROM editroom.sessions
         WHERE (%(id)s::uuid IS NULL OR id = %(id)s::uuid)
           AND (%(media_id)s::uuid IS NULL OR media_id = %(media_id)s::uuid)
           AND (%(after_at)s::timestamptz IS NULL
                OR (created_at, id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
         ORDER BY created_at DESC, id DESC
         LIMIT %(limit)s) AS s
  CROSS JOIN LATERAL (
      SELECT EXISTS (SELECT FROM editroom.edits e
                      WHERE e.session_id = s.id AND editroom.edit_still_to_run(e.status))
             AS busy
  ) AS busy
 ORDER BY s.created_at DESC, s.id DESC;

-- name: session_plan
-- What a session's next step is planned from (service/domain/session_steps.py), read in one
-- statement: the head and its facts, the operations of the steps still to run (the kind the
-- next step reads follows from every one of them), and the step it would follow (the newest
-- of those, else the head), which enqueue_session_edit checks again when it makes the step.
-- No row when the session does not exist.
SELECT s.id,
       hm.kind::text AS head_kind,
       hm.video_codec AS head_video_codec,
       hm.width AS head_width,
       hm.height AS head_height,
       hm.duration_seconds AS head_duration_seconds,
       busy.pending_ops,
       coalesce(busy.tip_edit_id, s.head_edit_id) AS next_follows_edit_id
  FROM editroom.sessions s
  JOIN editroom.media hm ON hm.id = editroom.session_head_media(s.id)
  CROSS JOIN LATERAL (
      SELECT coalesce(jsonb_agg(e.ops ORDER BY e.session_step), '[]') AS pending_ops,
             (array_agg(e.id ORDER BY e.session_step DESC))[1] AS tip_edit_id
        FROM editroom.edits e
       WHERE e.session_id = s.id AND editroom.edit_still_to_run(e.status)
  ) AS busy
 WHERE s.id = %(id)s;

-- name: session_steps
-- A page of a session's steps, newest first, those numbered before before_step (NULL: from
-- the newest), on edits_session_step_idx; each with whether it can be retried now and whether
-- undo and redo can no longer reach it (completed, off the head's line: session_line).
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable,
       e.status = 'completed' AND e.id NOT IN (SELECT l.id FROM editroom.session_line(%(id)s) AS l (id))
           AS abandoned
  FROM editroom.edits e
 WHERE e.session_id = %(id)s
   AND (%(before_step)s::integer IS NULL OR e.session_step < %(before_step)s::integer)
 ORDER BY e.session_step DESC
 LIMIT %(limit)s;

-- name: undo_session
SELECT * FROM editroom.undo_session(%(id)s);

-- name: redo_session
SELECT * FROM editroom.redo_session(%(id)s);

-- name: delete_session
SELECT * FROM editroom.delete_session(%(id)s);

-- name: create_workflow
SELECT (c.workflow).*, c.created
  FROM editroom.create_workflow(%(name)s, %(ops)s::jsonb, %(kinds)s::editroom.media_kind[]) AS c;

-- name: update_workflow
SELECT * FROM editroom.update_workflow(
    %(id)s, %(name)s, %(ops)s::jsonb, %(kinds)s::editroom.media_kind[]
);

-- name: delete_workflow
SELECT * FROM editroom.delete_workflow(%(id)s);

-- name: workflow_by_id
SELECT w.*, v.ops, v.kinds::text[] AS kinds
  FROM editroom.workflows w
  JOIN editroom.workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
 WHERE w.id = %(id)s;

-- name: workflow_version
SELECT v.*, v.kinds::text[] AS kinds FROM editroom.workflow_versions v
 WHERE v.workflow_id = %(id)s AND v.version = %(version)s;

-- name: list_workflows
SELECT w.*, v.ops, v.kinds::text[] AS kinds
  FROM editroom.workflows w
  JOIN editroom.workflow_versions v ON v.workflow_id = w.id AND v.version = w.version
 WHERE w.deleted_at IS NULL
   AND (%(after_at)s::timestamptz IS NULL
        OR (w.created_at, w.id) < (%(after_at)s::timestamptz, %(after_id)s::uuid))
 ORDER BY w.created_at DESC, w.id DESC
 LIMIT %(limit)s;

-- name: run_workflow_once
-- The edits, in order, each with whether it was an identical one already made (each edit
-- carries its kind, for the enqueued-edits counter).
SELECT (o.edit).*, o.reused, editroom.retry_refusal(o.edit) IS NULL AS retryable
  FROM editroom.run_workflow_once(
      p_id => %(id)s, p_version => %(version)s, p_media_ids => %(media_ids)s::uuid[],
      p_edit_keys => %(edit_keys)s::text[], p_fresh => %(fresh)s, p_priority => %(priority)s,
      p_max_trials => %(max_trials)s
  ) WITH ORDINALITY AS o
 ORDER BY o.ordinality;

-- name: workflow_executions
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.list_edits(
    p_status => %(status)s::editroom.edit_status, p_workflow_id => %(id)s::uuid,
    p_after_at => %(after_at)s::timestamptz, p_after_id => %(after_id)s::uuid,
    p_limit => %(limit)s
) e;

-- name: workflow_status_counts
SELECT status, count FROM editroom.workflow_status_counts WHERE workflow_id = %(id)s;

-- name: imports_waiting
-- Imports waiting to run, counted up to the cap only (edits_import_claimable_idx).
SELECT count(*) AS waiting
  FROM (SELECT 1 FROM editroom.edits
         WHERE kind = 'import' AND status IN ('queued', 'error') AND blocked_by IS NULL
         LIMIT %(limit)s) AS w;

-- name: enqueue_import
SELECT e.*, editroom.retry_refusal(e) IS NULL AS retryable FROM editroom.enqueue_import(
    p_request => %(request)s::jsonb,
    p_max_trials => %(max_trials)s,
    p_priority => %(priority)s
) e;

-- name: watch_channels
-- On the watcher's own session (kernel/db.py WakeSlots): session-level advisory locks.
SELECT editroom.watch_channel(c.channel) FROM unnest(%(channels)s::text[]) AS c (channel);

-- name: unwatch_channels
SELECT editroom.unwatch_channel(c.channel) FROM unnest(%(channels)s::text[]) AS c (channel);

-- name: still_connected
SELECT 1 AS alive;
