-- Every statement the service and the runner send. Each calls the editroom.* SQL API; the
-- rules live there. Loaded by service/db.py; parameters are %(name)s placeholders.

-- name: ping
SELECT 1 AS ok;

-- name: schema_revision
SELECT version_num AS revision FROM editroom.alembic_version;

-- name: enqueue_edit
SELECT * FROM editroom.enqueue_edit(
    p_media_id => %(media_id)s,
    p_ops => %(ops)s::jsonb,
    p_max_trials => %(max_trials)s,
    p_priority => %(priority)s
);

-- name: claim_edits
SELECT * FROM editroom.claim_edits(%(worker)s, %(limit)s, %(lease)s);

-- name: heartbeat_edits
-- One round trip for every edit a runner holds; `held` false means stop working on it.
SELECT h.id, editroom.heartbeat_edit(h.id, %(worker)s, h.progress, %(lease)s) AS held
  FROM unnest(%(ids)s::uuid[], %(progress)s::real[]) AS h (id, progress);

-- name: complete_edits
SELECT id FROM editroom.complete_edits(%(worker)s, %(results)s::jsonb);

-- name: complete_edit
SELECT id FROM editroom.complete_edit(%(id)s, %(worker)s, %(outputs)s);

-- name: fail_edit
SELECT id, status FROM editroom.fail_edit(%(id)s, %(worker)s, %(error)s, %(retryable)s);

-- name: reap_expired_leases
SELECT editroom.reap_expired_leases() AS reaped;

-- name: prune_finished_edits
SELECT editroom.prune_finished_edits(%(older_than)s) AS pruned;

-- name: status_counts
SELECT status, count FROM editroom.status_counts();
