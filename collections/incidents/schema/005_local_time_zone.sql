-- requires: incidents/004, core/005
-- Deadlines and case-number days on the deployment's own wall clock (core/005's
-- gridgeo.local_tz()) instead of Asia/Shanghai: a case reported at 23:30 local time
-- belongs to that local day wherever the deployment is. next_case_no() is incidents/004's
-- (5-digit sequence, stored numbers skipped) with only its day changed.

CREATE OR REPLACE FUNCTION gridgeo.incident_deadline(accepted_at timestamptz, colour text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ((accepted_at AT TIME ZONE gridgeo.local_tz()) + k.deadline) AT TIME ZONE gridgeo.local_tz()
      FROM gridgeo.incident_colours k WHERE k.colour = $2 $$;

CREATE OR REPLACE FUNCTION gridgeo.next_case_no() RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    caller_mode text := current_setting('gridgeo.maintenance', true);
    day_prefix text := (SELECT value FROM gridgeo.deployment WHERE key = 'county_code')
                       || to_char(now() AT TIME ZONE gridgeo.local_tz(), 'YYYYMMDD');
    n integer;
    candidate text;
BEGIN
    PERFORM set_config('gridgeo.maintenance', 'on', true);
    LOOP
        -- One statement bumps the day's counter row (or creates it, from the numbers the
        -- day already has): concurrent inserts wait on that row and never share a number.
        UPDATE gridgeo.incident_case_counters SET last = last + 1 WHERE prefix = day_prefix
            RETURNING last INTO n;
        IF NOT FOUND THEN
            INSERT INTO gridgeo.incident_case_counters AS c (prefix, last)
            VALUES (day_prefix,
                    coalesce((SELECT max(substr(i.case_no, 15)::integer)
                                FROM gridgeo.incidents i
                               WHERE i.case_no LIKE day_prefix || '%'), 0) + 1)
            ON CONFLICT ON CONSTRAINT incident_case_counters_pkey DO UPDATE SET last = c.last + 1
            RETURNING last INTO n;
        END IF;
        IF n > 99999 THEN
            RAISE EXCEPTION 'case numbers of % are used up (99,999 a day).', day_prefix
                USING ERRCODE = 'GG409';
        END IF;
        candidate := day_prefix || gridgeo.case_no_sequence(n);
        EXIT WHEN NOT EXISTS (SELECT FROM gridgeo.incidents WHERE case_no = candidate);
        -- Taken (brought by an import): go on after the day's highest stored number rather
        -- than stepping through an imported run of them one by one.
        UPDATE gridgeo.incident_case_counters
           SET last = greatest(last, (SELECT max(substr(i.case_no, 15)::integer)
                                        FROM gridgeo.incidents i
                                       WHERE i.case_no LIKE day_prefix || '%'))
         WHERE prefix = day_prefix;
    END LOOP;
    PERFORM set_config('gridgeo.maintenance', coalesce(caller_mode, ''), true);
    RETURN candidate;
END $$;
