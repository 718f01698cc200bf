-- Back-off between a failed attempt and the next claim.
CREATE OR REPLACE FUNCTION editroom.backoff_delay(p_trial integer)
RETURNS interval
LANGUAGE plpgsql
VOLATILE
AS $$
DECLARE
    -- Tunable per database or role without a deploy:
    --   ALTER DATABASE editroom SET editroom.backoff_base_seconds = 2;
    v_base_seconds double precision :=
        coalesce(nullif(current_setting('editroom.backoff_base_seconds', true), ''), '10')::double precision;
    v_max_seconds double precision :=
        coalesce(nullif(current_setting('editroom.backoff_max_seconds', true), ''), '3600')::double precision;
    v_ceiling_seconds double precision;
BEGIN
    v_ceiling_seconds := least(v_max_seconds, v_base_seconds * 2 ^ least(greatest(p_trial, 1) - 1, 30));
    -- "Equal jitter": at least half the ceiling, so retries spread out but never come early.
    RETURN make_interval(secs => v_ceiling_seconds / 2 + random() * v_ceiling_seconds / 2);
END
$$;

COMMENT ON FUNCTION editroom.backoff_delay(integer) IS
'Delay before an edit that failed its p_trial-th attempt may be claimed again: exponential in the '
'trial (base * 2^(trial-1)), capped, with jitter in [ceiling/2, ceiling]. Defaults: base 10 s, '
'cap 3600 s; set editroom.backoff_base_seconds / editroom.backoff_max_seconds to change them.';
