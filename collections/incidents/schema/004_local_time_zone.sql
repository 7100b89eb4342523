-- requires: incidents/003, core/005
-- Deadlines and case-number days on the deployment's own wall clock (core/005's
-- gridgeo.local_tz()) instead of Asia/Shanghai: a case reported at 23:30 local time
-- belongs to that local day wherever the deployment is.

CREATE OR REPLACE FUNCTION gridgeo.incident_deadline(accepted_at timestamptz, colour text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ((accepted_at AT TIME ZONE gridgeo.local_tz()) + k.deadline) AT TIME ZONE gridgeo.local_tz()
      FROM gridgeo.incident_colours k WHERE k.colour = $2 $$;

CREATE OR REPLACE FUNCTION gridgeo.next_case_no() RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    day_prefix text := (SELECT value FROM gridgeo.deployment WHERE key = 'county_code')
                       || to_char(now() AT TIME ZONE gridgeo.local_tz(), 'YYYYMMDD');
    n integer;
BEGIN
    INSERT INTO gridgeo.incident_case_counters AS c (prefix, last)
    VALUES (day_prefix, coalesce((SELECT max(right(i.case_no, 4)::integer)
                                    FROM gridgeo.incidents i
                                   WHERE i.case_no LIKE day_prefix || '____'), 0) + 1)
    ON CONFLICT ON CONSTRAINT incident_case_counters_pkey DO UPDATE SET last = c.last + 1
    RETURNING last INTO n;
    IF n > 9999 THEN
        RAISE EXCEPTION 'case numbers of % are used up (9999 a day).', day_prefix
            USING ERRCODE = 'GG409';
    END IF;
    RETURN day_prefix || lpad(n::text, 4, '0');
END $$;
