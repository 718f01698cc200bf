-- Every statement the service and the runner send. Each calls the editroom.* SQL API; the
-- rules live there. Loaded by service/db.py; parameters are %(name)s placeholders.

-- name: schema_revision
SELECT version_num AS revision FROM editroom.alembic_version;

-- name: claim_edits
SELECT * FROM editroom.claim_edits(%(worker)s, %(limit)s, %(lease)s);

-- name: heartbeat_edits
-- One round trip for every edit a runner holds; `held` false means stop working on it.
SELECT h.id, editroom.heartbeat_edit(h.id, %(worker)s, h.progress, %(lease)s) AS held
  FROM unnest(%(ids)s::uuid[], %(progress)s::real[]) AS h (id, progress);

-- name: complete_edits
SELECT id FROM editroom.complete_edits(%(worker)s, %(results)s::jsonb);

-- name: fail_edit
SELECT id, status FROM editroom.fail_edit(%(id)s, %(worker)s, %(error)s, %(retryable)s);

-- name: reap_expired_leases
SELECT editroom.reap_expired_leases() AS reaped;

-- name: prune_finished_edits
SELECT editroom.prune_finished_edits(%(older_than)s) AS pruned;
