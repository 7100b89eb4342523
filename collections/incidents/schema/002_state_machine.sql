-- requires: core/001, grids/001, police_grids/001, addresses/001
-- The closed loop enforced by the database: which state may follow which, the times
-- each transition sets, case numbers, places and the responsible grid worker filled
-- in on insert, and deadlines counted in Asia/Shanghai local time.

-- Legal transitions, as data (a plugin's migration may add its own).
CREATE TABLE gridgeo.incident_transitions (
    from_state   text NOT NULL,
    to_state     text NOT NULL,
    note_needed  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO gridgeo.incident_transitions (from_state, to_state, note_needed) VALUES
    ('reported', 'accepted', false), ('reported', 'invalid', true),
    ('reported', 'duplicate', true),
    ('accepted', 'dispatched', false),
    ('dispatched', 'in_progress', false), ('dispatched', 'returned', true),
    ('returned', 'dispatched', false), ('returned', 'invalid', true),
    ('in_progress', 'resolved', false), ('in_progress', 'returned', true),
    ('resolved', 'verified', false), ('resolved', 'reopened', true),
    ('reopened', 'in_progress', false), ('reopened', 'dispatched', false),
    ('verified', 'closed', false);

-- Final states: no deadline runs, nothing follows.
CREATE FUNCTION gridgeo.incident_state_is_final(state text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT state IN ('closed', 'invalid', 'duplicate') $$;

-- Deadlines are counted on the wall clock of the town: '1 month' from 31 January 01:00
-- in Shanghai is 28 February 01:00 in Shanghai, whatever the session's time zone.
CREATE FUNCTION gridgeo.incident_deadline(accepted_at timestamptz, colour text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ((accepted_at AT TIME ZONE 'Asia/Shanghai') + k.deadline) AT TIME ZONE 'Asia/Shanghai'
      FROM gridgeo.incident_colours k WHERE k.colour = $2 $$;

-- The audit log: every state an incident enters, who moved it and why.
CREATE TABLE gridgeo.incident_events (
    id          bigserial PRIMARY KEY,
    incident_id integer NOT NULL REFERENCES gridgeo.incidents (id) ON DELETE CASCADE,
    case_no     text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    actor       text NOT NULL,
    note        text,
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX incident_events_incident_idx ON gridgeo.incident_events (incident_id, at);

-- Case numbers: county code (6) + Shanghai date (8) + a per-day sequence (4). The counter
-- row is created or bumped by one statement, so concurrent inserts never share a number.
CREATE TABLE gridgeo.incident_case_counters (
    prefix text PRIMARY KEY,
    last   integer NOT NULL
);

CREATE FUNCTION gridgeo.next_case_no() RETURNS text
    LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    day_prefix text := (SELECT value FROM gridgeo.deployment WHERE key = 'county_code')
                       || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD');
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

ALTER TABLE gridgeo.incidents
    ALTER COLUMN case_no SET DEFAULT gridgeo.next_case_no(),
    ALTER COLUMN state SET DEFAULT 'reported',
    ALTER COLUMN reported_at SET DEFAULT now(),
    ALTER COLUMN colour SET DEFAULT 'yellow',
    ALTER COLUMN source SET DEFAULT 'other',
    ADD COLUMN grid_worker_id   integer REFERENCES gridgeo.staff (id) ON DELETE SET NULL,
    ADD COLUMN state_note       text,
    ADD COLUMN state_changed_at timestamptz,
    ADD COLUMN verified_at      timestamptz,
    ADD COLUMN closed_on_time   boolean;

-- Places, filled in by the database: the police grid from the grid <-> police crosswalk when
-- one is installed (else the police grid containing the point), the nearest standard
-- address within 300 m, and the grid's first worker. Fires after assign_grid_codes.
CREATE FUNCTION gridgeo.crosswalk_police_grid(grid text) RETURNS text
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    found text;
BEGIN
    IF grid IS NULL OR to_regclass('gridgeo.grid_police_crosswalk') IS NULL THEN
        RETURN NULL;
    END IF;
    -- The grid's dominant police grid (the officer who answers for the grid).
    EXECUTE 'SELECT police_grid_code FROM gridgeo.grid_police_crosswalk WHERE grid_code = $1'
            ' ORDER BY dominant DESC, police_grid_code LIMIT 1' INTO found USING grid;
    RETURN found;
EXCEPTION WHEN undefined_column OR undefined_table THEN
    RETURN NULL;  -- a crosswalk of another shape: fall back to containment
END $$;

CREATE OR REPLACE FUNCTION gridgeo.incidents_places() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.police_grid_code := coalesce(
        gridgeo.crosswalk_police_grid(NEW.grid_code),
        (SELECT code FROM gridgeo.police_grids WHERE ST_Intersects(geom, NEW.geom)
          ORDER BY code LIMIT 1));
    IF NEW.address_id IS NULL THEN
        SELECT a.id, coalesce(NEW.address_text, a.full_address)
          INTO NEW.address_id, NEW.address_text
          FROM gridgeo.addresses a
         WHERE ST_DWithin(a.geom::geography, NEW.geom::geography, 300)
         ORDER BY a.geom <-> NEW.geom LIMIT 1;
    END IF;
    NEW.grid_worker_id := (SELECT a.staff_id FROM gridgeo.grid_assignments a
                             JOIN gridgeo.staff s ON s.id = a.staff_id
                            WHERE a.grid_code = NEW.grid_code AND a.role = 'worker' AND s.active
                            ORDER BY a.staff_id LIMIT 1);
    RETURN NEW;
END $$;

-- Who is writing: the API's caller, else the database role (loaders, psql).
CREATE FUNCTION gridgeo.current_actor() RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(nullif(current_setting('gridgeo.actor', true), ''), current_user) $$;

-- Which incidents this transaction changed itself: its own later updates are no race.
CREATE FUNCTION gridgeo.incident_changed_here(incident integer) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT (',' || coalesce(current_setting('gridgeo.incidents_changed_here', true), '') || ',')
           LIKE '%,' || incident || ',%' $$;

CREATE FUNCTION gridgeo.mark_incident_changed_here(incident integer) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    SELECT set_config('gridgeo.incidents_changed_here',
                      coalesce(current_setting('gridgeo.incidents_changed_here', true), '')
                      || ',' || incident, true) $$;

CREATE FUNCTION gridgeo.incidents_before_insert() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL
       AND NEW.state <> 'reported' THEN
        RAISE EXCEPTION 'a new incident starts in state reported, not %; change its state '
            'afterwards with PATCH.', NEW.state USING ERRCODE = 'GG400';
    END IF;
    IF nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL
       AND NEW.reported_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'reported_at % lies in the future.', NEW.reported_at
            USING ERRCODE = 'GG400';
    END IF;
    IF NEW.case_no IS NULL THEN
        NEW.case_no := gridgeo.next_case_no();
    END IF;
    -- The transaction's own start: a later update in the same transaction is no race.
    NEW.state_changed_at := coalesce(NEW.state_changed_at, now());
    IF NEW.state = 'closed' AND NEW.closed_on_time IS NULL THEN
        NEW.closed_on_time := NEW.closed_at <= gridgeo.incident_deadline(NEW.accepted_at,
                                                                         NEW.colour);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_before_insert BEFORE INSERT ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_before_insert();

-- A state change: legal, not racing a change made after this transaction began, with a
-- note where one is needed; then the transition's own time is set. Times are never
-- written directly.
CREATE FUNCTION gridgeo.incidents_before_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    allowed text;
    t gridgeo.incident_transitions;
    stamp timestamptz := clock_timestamp();
BEGIN
    IF OLD.state_changed_at > now() AND NOT gridgeo.incident_changed_here(OLD.id) THEN
        RAISE EXCEPTION 'incident % changed to state % while your request waited; fetch it '
            'again and decide anew.', OLD.case_no, OLD.state USING ERRCODE = 'GG409';
    END IF;
    IF NEW.case_no IS DISTINCT FROM OLD.case_no AND NEW.case_no IS NOT NULL THEN
        RAISE EXCEPTION 'case numbers never change: incident % keeps its number.', OLD.case_no
            USING ERRCODE = 'GG400';
    END IF;
    -- A PUT that leaves these out keeps them (they have defaults, so they are optional).
    NEW.case_no := OLD.case_no;
    NEW.state := coalesce(NEW.state, OLD.state);
    NEW.reported_at := coalesce(NEW.reported_at, OLD.reported_at);
    NEW.colour := coalesce(NEW.colour, OLD.colour);
    NEW.source := coalesce(NEW.source, OLD.source);
    NEW.accepted_at := OLD.accepted_at;
    NEW.dispatched_at := OLD.dispatched_at;
    NEW.resolved_at := OLD.resolved_at;
    NEW.verified_at := OLD.verified_at;
    NEW.closed_at := OLD.closed_at;
    NEW.closed_on_time := OLD.closed_on_time;
    NEW.state_changed_at := OLD.state_changed_at;
    NEW.updated_at := now();
    IF NEW.state IS NOT DISTINCT FROM OLD.state THEN
        RETURN NEW;
    END IF;
    IF NEW.state <> 'reported' AND NOT EXISTS (
            SELECT FROM gridgeo.incident_transitions WHERE to_state = NEW.state) THEN
        SELECT string_agg(DISTINCT to_state, ', ') INTO allowed FROM gridgeo.incident_transitions;
        RAISE EXCEPTION 'property ''state'' must be one of: reported, %.', allowed
            USING ERRCODE = 'GG400';
    END IF;
    SELECT * INTO t FROM gridgeo.incident_transitions
     WHERE from_state = OLD.state AND to_state = NEW.state;
    IF NOT FOUND THEN
        SELECT string_agg(to_state, ', ' ORDER BY to_state) INTO allowed
          FROM gridgeo.incident_transitions WHERE from_state = OLD.state;
        IF allowed IS NULL THEN
            RAISE EXCEPTION 'incident % is %, a final state: it cannot change any more.',
                OLD.case_no, OLD.state USING ERRCODE = 'GG400';
        END IF;
        RAISE EXCEPTION 'incident % cannot go from % to %; allowed next states: %.',
            OLD.case_no, OLD.state, NEW.state, allowed USING ERRCODE = 'GG400';
    END IF;
    IF t.note_needed AND (nullif(btrim(NEW.state_note), '') IS NULL
                          OR NEW.state_note IS NOT DISTINCT FROM OLD.state_note) THEN
        RAISE EXCEPTION 'a change to % needs a new state_note saying why.', NEW.state
            USING ERRCODE = 'GG400';
    END IF;
    CASE NEW.state
        WHEN 'accepted' THEN NEW.accepted_at := stamp;
        WHEN 'dispatched' THEN NEW.dispatched_at := stamp;
        WHEN 'resolved' THEN NEW.resolved_at := stamp;
        WHEN 'verified' THEN NEW.verified_at := stamp;
        WHEN 'closed' THEN
            NEW.closed_at := stamp;
            NEW.closed_on_time := stamp <= gridgeo.incident_deadline(NEW.accepted_at, NEW.colour);
        ELSE NULL;
    END CASE;
    NEW.state_changed_at := stamp;
    PERFORM gridgeo.mark_incident_changed_here(NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_before_update BEFORE UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_before_update();

CREATE FUNCTION gridgeo.incidents_log_state() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor,
                                             note, at)
        VALUES (NEW.id, NEW.case_no, CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END, NEW.state,
                gridgeo.current_actor(),
                CASE WHEN TG_OP = 'INSERT' OR NEW.state_note IS DISTINCT FROM OLD.state_note
                     THEN NEW.state_note END,
                NEW.state_changed_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_log_state AFTER INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_log_state();

-- Incidents are never deleted: their history is evidence.
CREATE FUNCTION gridgeo.incidents_refuse_delete() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'incidents are never deleted; move incident % to invalid or duplicate '
        'instead.', OLD.case_no USING ERRCODE = 'GG405';
END $$;
CREATE TRIGGER incidents_refuse_delete BEFORE DELETE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_refuse_delete();

-- The view keeps its columns (same names, same order) and adds new ones at the end.
-- Deadlines count from acceptance in Shanghai time; overdue = past the deadline and not in a
-- final state (false, not null, before acceptance); closed_on_time is recorded at closing.
CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       i.title, i.description, i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       gridgeo.incident_deadline(i.accepted_at, i.colour) AS deadline_at,
       coalesce(NOT gridgeo.incident_state_is_final(i.state)
                AND now() > gridgeo.incident_deadline(i.accepted_at, i.colour), false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time,
                i.closed_at <= gridgeo.incident_deadline(i.accepted_at, i.colour))
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       i.reporter_name, i.reporter_phone, i.reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom,
       i.state_note, i.verified_at, i.grid_worker_id, w.name AS grid_worker_name,
       w.work_phone AS grid_worker_phone
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id;
