-- requires: incidents/002
-- Case numbers that cannot run out or be blocked.
--
-- The per-day sequence had 4 digits and its CHECK stopped a county at 9,999 incidents a
-- day. Numbers 1..9999 keep their 4 digits (every number ever handed out stays valid and
-- the usual number keeps its 18 digits); from the 10,000th incident of a day on, the
-- sequence is written with 5 digits, up to 99,999. Each sequence number has one spelling:
-- a 5-digit sequence never starts with 0.
--
-- The counter row is bumped first and seeded from the day's numbers only when the day has
-- none yet (the old function computed that seed on every insert, reading the day's rows).
-- The counter skips numbers already stored: `gridgeo import` may bring numbers from
-- another system (API clients may not: case_no is read-only there), and a stored number
-- ahead of the counter would otherwise make every later insert of the day a 409.
ALTER TABLE gridgeo.incidents DROP CONSTRAINT incidents_case_no_check;
ALTER TABLE gridgeo.incidents ADD CONSTRAINT incidents_case_no_check
    CHECK (case_no ~ '^[0-9]{6}[0-9]{8}([0-9]{4}|[1-9][0-9]{4})$');

-- The sequence number n of a day written as a case number's tail.
CREATE FUNCTION gridgeo.case_no_sequence(n integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN n <= 9999 THEN lpad(n::text, 4, '0') ELSE n::text END $$;

-- Reads the incidents as maintenance, for its own duration only (an error aborts the
-- (sub)transaction, which undoes the setting too): whether a number is taken must be
-- answered for every incident, not only those the caller may read, or a grid worker's
-- insert would collide with a number stored in another grid. (A function's SET clause would
-- say this more simply, but PostgreSQL lets only a superuser attach a custom setting.)
CREATE OR REPLACE FUNCTION gridgeo.next_case_no() RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    caller_mode text := current_setting('gridgeo.maintenance', true);
    day_prefix text := (SELECT value FROM gridgeo.deployment WHERE key = 'county_code')
                       || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD');
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
