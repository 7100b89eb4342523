-- requires: incidents/006, core/005, grids/001
-- Deadlines from the moment of reporting, from an SLA table (colour x grid difficulty x
-- category), in calendar time or in working days; colour derived from the category and the
-- grid's difficulty, changed only by an authorised role with a reason.
--
-- Two clocks run: acceptance (受理时限) from reported_at, handling from accepted_at. An
-- incident nobody accepts goes overdue on the first clock.

-- Working days. Rows from the chinesecalendar package (public holidays and adjusted
-- working weekends, 调休; `gridgeo calendar sync` writes them) and the deployment's own
-- rows for years the package does not cover. A day without a row works Monday to Friday.
CREATE TABLE gridgeo.calendar_days (
    day     date PRIMARY KEY,
    working boolean NOT NULL,
    name    text,
    source  text NOT NULL DEFAULT 'deployment'
            CHECK (source IN ('chinesecalendar', 'deployment'))
);
COMMENT ON TABLE gridgeo.calendar_days IS
    'Public holidays (working = false) and adjusted working days (working = true).';

CREATE FUNCTION gridgeo.add_working_days(start timestamp, days integer) RETURNS timestamp
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN days <= 0 THEN start ELSE (
        SELECT d::date + start::time
          FROM generate_series(start::date + 1, start::date + 3 * days + 60, interval '1 day') d
          LEFT JOIN gridgeo.calendar_days c ON c.day = d::date
         WHERE coalesce(c.working, extract(isodow FROM d) < 6)
         ORDER BY d OFFSET days - 1 LIMIT 1) END $$;

-- A deadline rule: a whole number and a unit, e.g. '4 hours', '1 day', '3 working days',
-- '1 month'. Returns the sentence that says what is wrong, or NULL for a good rule.
CREATE FUNCTION gridgeo.sla_rule_problem(rule text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN rule ~* '^\s*[0-9]{1,4}\s+(working\s+days?|hours?|days?|weeks?|months?)\s*$'
                THEN NULL
                ELSE format('deadline rule %L does not parse; write a whole number and a unit: '
                            '''4 hours'', ''1 day'', ''3 working days'', ''2 weeks'' or '
                            '''1 month''.', rule) END $$;

-- The moment a rule's time runs out, counted on the town's wall clock: '1 month' from
-- 31 January 01:00 is 28 February 01:00 local time, whatever the session's zone.
CREATE FUNCTION gridgeo.sla_deadline(start timestamptz, rule text) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH parts AS (
        SELECT (regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)')) AS m,
               start AT TIME ZONE gridgeo.local_tz() AS local_start)
    SELECT CASE WHEN m[2] IS NOT NULL
                THEN gridgeo.add_working_days(local_start, m[1]::integer)
                ELSE local_start + (m[1] || ' ' || m[3])::interval
           END AT TIME ZONE gridgeo.local_tz()
      FROM parts WHERE start IS NOT NULL AND m IS NOT NULL $$;

-- The SLA table. NULL difficulty or category: any. The most specific row wins (category
-- before difficulty). The rows with neither are each colour's default and must exist.
CREATE TABLE gridgeo.incident_sla (
    id            serial PRIMARY KEY,
    colour        text NOT NULL REFERENCES gridgeo.incident_colours (colour),
    difficulty    char(1) CHECK (difficulty IN ('A', 'B', 'C')),
    -- Checked by the trigger below, not by a foreign key: reloading the categories (the
    -- demo truncates them) must not empty the SLA table by cascade.
    category_code text,
    accept_within text NOT NULL,
    handle_within text NOT NULL,
    CONSTRAINT incident_sla_one_rule UNIQUE NULLS NOT DISTINCT (colour, difficulty, category_code)
);

CREATE FUNCTION gridgeo.incident_sla_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    problem text := coalesce(gridgeo.sla_rule_problem(NEW.accept_within),
                             gridgeo.sla_rule_problem(NEW.handle_within));
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION '%', problem USING ERRCODE = 'GG400';
    END IF;
    IF NEW.category_code IS NOT NULL AND NOT EXISTS (
            SELECT FROM gridgeo.incident_categories WHERE code = NEW.category_code) THEN
        RAISE EXCEPTION 'there is no incident category %; a deadline rule names a category '
            'code or none (any category).', quote_literal(NEW.category_code)
            USING ERRCODE = 'GG400';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incident_sla_check BEFORE INSERT OR UPDATE ON gridgeo.incident_sla
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incident_sla_check();

-- Defaults: handling as the colours always said (yellow a day, orange a week, red a month);
-- acceptance within hours; a C grid (the hardest to work) gets more handling time.
INSERT INTO gridgeo.incident_sla (colour, difficulty, accept_within, handle_within) VALUES
    ('yellow', NULL, '4 hours', '1 day'), ('orange', NULL, '2 hours', '7 days'),
    ('red', NULL, '1 hour', '1 month'),
    ('yellow', 'C', '4 hours', '2 days'), ('orange', 'C', '2 hours', '10 days'),
    ('red', 'C', '1 hour', '6 weeks');

CREATE FUNCTION gridgeo.incident_sla_rule(colour text, grid_code text, category_code text)
    RETURNS gridgeo.incident_sla LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.* FROM gridgeo.incident_sla s
     WHERE s.colour = $1
       AND (s.category_code IS NULL OR s.category_code = $3)
       AND (s.difficulty IS NULL
            OR s.difficulty = (SELECT g.difficulty FROM gridgeo.grids g WHERE g.code = $2))
     ORDER BY s.category_code IS NULL, s.difficulty IS NULL LIMIT 1 $$;

CREATE FUNCTION gridgeo.incident_accept_deadline(reported_at timestamptz, colour text,
                                                 grid_code text, category_code text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT gridgeo.sla_deadline($1, (gridgeo.incident_sla_rule($2, $3, $4)).accept_within) $$;

CREATE FUNCTION gridgeo.incident_handle_deadline(accepted_at timestamptz, colour text,
                                                 grid_code text, category_code text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT gridgeo.sla_deadline($1, (gridgeo.incident_sla_rule($2, $3, $4)).handle_within) $$;

-- The colour's default handling deadline (any grid, any category): kept for callers of 002.
CREATE OR REPLACE FUNCTION gridgeo.incident_deadline(accepted_at timestamptz, colour text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT gridgeo.incident_handle_deadline($1, $2, NULL, NULL) $$;

-- Colour: the category's default, raised by the grid's difficulty.
ALTER TABLE gridgeo.incident_colours ADD COLUMN rank integer;
UPDATE gridgeo.incident_colours SET rank = CASE colour WHEN 'yellow' THEN 1 WHEN 'orange' THEN 2
                                                       WHEN 'red' THEN 3 END;
ALTER TABLE gridgeo.incident_categories
    ADD COLUMN default_colour text NOT NULL DEFAULT 'yellow'
        REFERENCES gridgeo.incident_colours (colour);
CREATE TABLE gridgeo.incident_difficulty_colour (
    difficulty char(1) PRIMARY KEY CHECK (difficulty IN ('A', 'B', 'C')),
    raise_by   integer NOT NULL DEFAULT 0 CHECK (raise_by >= 0)
);
INSERT INTO gridgeo.incident_difficulty_colour VALUES ('A', 0), ('B', 0), ('C', 1);

CREATE FUNCTION gridgeo.incident_derived_colour(category_code text, grid_code text)
    RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH base AS (
        SELECT k.rank + coalesce((SELECT d.raise_by FROM gridgeo.grids g
                                    JOIN gridgeo.incident_difficulty_colour d USING (difficulty)
                                   WHERE g.code = $2), 0) AS wanted
          FROM gridgeo.incident_categories c
          JOIN gridgeo.incident_colours k ON k.colour = c.default_colour
         WHERE c.code = $1)
    SELECT k.colour FROM gridgeo.incident_colours k, base
     ORDER BY k.rank <= base.wanted DESC, abs(k.rank - base.wanted) LIMIT 1 $$;

-- Which roles may do what to an incident beyond its state machine (configuration as data).
CREATE TABLE gridgeo.incident_authorities (
    action text NOT NULL CHECK (action IN ('recolour', 'verify')),
    role   text NOT NULL,
    PRIMARY KEY (action, role)
);
INSERT INTO gridgeo.incident_authorities VALUES
    ('recolour', 'admin'), ('recolour', 'gis_editor');

-- The audit log records more than states: a colour change is an event of its own kind.
ALTER TABLE gridgeo.incident_events
    ADD COLUMN kind text NOT NULL DEFAULT 'state',
    ADD COLUMN detail jsonb;

-- A colour left out is derived; the default is a marker the trigger below replaces (a
-- column default keeps colour optional for API clients).
CREATE FUNCTION gridgeo.incident_colour_to_derive() RETURNS text
    LANGUAGE sql VOLATILE AS $$ SELECT NULL::text $$;
ALTER TABLE gridgeo.incidents
    ALTER COLUMN colour SET DEFAULT gridgeo.incident_colour_to_derive(),
    ADD COLUMN colour_note text;

-- Fires after the grid codes are assigned (trigger names run in order).
CREATE FUNCTION gridgeo.incidents_sla() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    by_api boolean := nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL;
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.colour := coalesce(NEW.colour,
                               gridgeo.incident_derived_colour(NEW.category_code, NEW.grid_code),
                               'yellow');
    ELSIF NEW.colour IS DISTINCT FROM OLD.colour THEN
        IF by_api AND NOT EXISTS (SELECT FROM gridgeo.incident_authorities
                                   WHERE action = 'recolour'
                                     AND gridgeo.request_has_role(role)) THEN
            RAISE EXCEPTION 'your role may not change an incident''s colour; ask one of: %.',
                (SELECT string_agg(role, ', ' ORDER BY role) FROM gridgeo.incident_authorities
                  WHERE action = 'recolour') USING ERRCODE = 'GG403';
        END IF;
        IF by_api AND (nullif(btrim(NEW.colour_note), '') IS NULL
                       OR NEW.colour_note IS NOT DISTINCT FROM OLD.colour_note) THEN
            RAISE EXCEPTION 'a change of colour needs a new colour_note saying why.'
                USING ERRCODE = 'GG400';
        END IF;
        INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor,
                                             note, kind, detail)
        VALUES (OLD.id, OLD.case_no, OLD.state, NEW.state, gridgeo.current_actor(),
                NEW.colour_note, 'colour', jsonb_build_object('from', OLD.colour,
                                                              'to', NEW.colour));
    END IF;
    -- Recorded at closing (002 used the colour alone; importers never bring it).
    IF NEW.state = 'closed' AND (TG_OP = 'INSERT' OR OLD.state <> 'closed') THEN
        NEW.closed_on_time := NEW.closed_at <= gridgeo.incident_handle_deadline(
            NEW.accepted_at, NEW.colour, NEW.grid_code, NEW.category_code);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_sla BEFORE INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_sla();

-- The share of the running clock after which a case is near its deadline (督办 warning).
INSERT INTO gridgeo.deployment (key, value) VALUES ('deadline_warning_share', '0.8')
    ON CONFLICT (key) DO NOTHING;

-- The clock that runs now: acceptance until accepted, then handling; none once final.
CREATE FUNCTION gridgeo.incident_due(state text, reported_at timestamptz,
                                     accepted_at timestamptz, colour text, grid_code text,
                                     category_code text, OUT started_at timestamptz,
                                     OUT due_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN $3 IS NULL THEN $2 ELSE $3 END,
           CASE WHEN $3 IS NULL THEN gridgeo.incident_accept_deadline($2, $4, $5, $6)
                ELSE gridgeo.incident_handle_deadline($3, $4, $5, $6) END
     WHERE NOT gridgeo.incident_state_is_final($1) $$;

-- The view keeps its columns (same names, same order) and adds new ones at the end.
-- deadline_at is the handling deadline; accept_deadline_at the acceptance deadline; due_at
-- the one running now; overdue = past due_at (an unaccepted case too); near_due = the
-- warning share of the running clock has passed and the case is not yet overdue.
CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       i.title, i.description, i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       gridgeo.incident_handle_deadline(i.accepted_at, i.colour, i.grid_code,
                                        i.category_code) AS deadline_at,
       coalesce(now() > due.due_at, false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time,
                i.closed_at <= gridgeo.incident_handle_deadline(i.accepted_at, i.colour,
                                                                i.grid_code, i.category_code))
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       i.reporter_name, i.reporter_phone, i.reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom,
       i.state_note, i.verified_at, i.grid_worker_id, w.name AS grid_worker_name,
       w.work_phone AS grid_worker_phone,
       gridgeo.incident_accept_deadline(i.reported_at, i.colour, i.grid_code,
                                        i.category_code) AS accept_deadline_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false) AS near_due,
       i.colour_note
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true;
