-- requires: incidents/007
-- Dispatch (分拨/交办): an incident goes to a department and/or a named staff member, with
-- co-handling departments (协办) where its category names them. Reassigning needs a reason;
-- sending back (回退) is the state 'returned', which needs one already. Each step is an
-- event in gridgeo.incident_events (kind 'dispatch' or 'reassign', with who and to whom).
ALTER TABLE gridgeo.incidents
    ADD COLUMN department_code        text REFERENCES gridgeo.departments (code)
                                      ON UPDATE CASCADE,
    ADD COLUMN assignee_staff_no      text REFERENCES gridgeo.staff (staff_no)
                                      ON UPDATE CASCADE,
    ADD COLUMN cohandling_departments text[],
    ADD COLUMN dispatch_note          text;
CREATE INDEX incidents_department_idx ON gridgeo.incidents (department_code);

-- The departments that co-handle a category's cases (deployment data: departments differ
-- from town to town).
CREATE TABLE gridgeo.incident_category_cohandlers (
    category_code   text NOT NULL REFERENCES gridgeo.incident_categories (code)
                    ON DELETE CASCADE,
    department_code text NOT NULL REFERENCES gridgeo.departments (code)
                    ON UPDATE CASCADE ON DELETE CASCADE,
    PRIMARY KEY (category_code, department_code)
);

-- Names checked with a sentence before the foreign keys would answer in database words.
CREATE FUNCTION gridgeo.incident_dispatch_targets_known(incident gridgeo.incidents) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    unknown text;
BEGIN
    IF incident.department_code IS NOT NULL AND NOT EXISTS (
            SELECT FROM gridgeo.departments WHERE code = incident.department_code) THEN
        RAISE EXCEPTION 'there is no department %; dispatch to a code from the departments '
            'list.', quote_literal(incident.department_code) USING ERRCODE = 'GG400';
    END IF;
    IF incident.assignee_staff_no IS NOT NULL AND NOT EXISTS (
            SELECT FROM gridgeo.staff WHERE staff_no = incident.assignee_staff_no AND active) THEN
        RAISE EXCEPTION 'there is no active staff member %; assign the case to a staff_no '
            'of the staff list.', quote_literal(incident.assignee_staff_no) USING ERRCODE = 'GG400';
    END IF;
    SELECT string_agg(quote_literal(d), ', ') INTO unknown
      FROM unnest(incident.cohandling_departments) d
     WHERE NOT EXISTS (SELECT FROM gridgeo.departments WHERE code = d);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'cohandling_departments names no department %; use codes from the '
            'departments list.', unknown USING ERRCODE = 'GG400';
    END IF;
END $$;

CREATE FUNCTION gridgeo.incident_dispatch_event(incident gridgeo.incidents, before gridgeo.incidents,
                                                kind text) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor, note,
                                         kind, detail)
    VALUES (before.id, before.case_no, before.state, incident.state, gridgeo.current_actor(),
            CASE WHEN kind = 'reassign' THEN incident.dispatch_note END, kind,
            jsonb_strip_nulls(jsonb_build_object(
                'department_code', incident.department_code,
                'assignee_staff_no', incident.assignee_staff_no,
                'cohandling_departments', to_jsonb(incident.cohandling_departments),
                'from_department_code', CASE WHEN kind = 'reassign' THEN before.department_code END,
                'from_assignee_staff_no',
                    CASE WHEN kind = 'reassign' THEN before.assignee_staff_no END))) $$;

CREATE FUNCTION gridgeo.incidents_dispatch() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    moved boolean;
BEGIN
    PERFORM gridgeo.incident_dispatch_targets_known(NEW);
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    moved := NEW.department_code IS DISTINCT FROM OLD.department_code
             OR NEW.assignee_staff_no IS DISTINCT FROM OLD.assignee_staff_no;
    IF NEW.state = 'dispatched' AND OLD.state IS DISTINCT FROM 'dispatched' THEN
        -- Loaders and the database's own maintenance (no API caller) are trusted, as
        -- incidents_before_insert trusts them with states.
        IF NEW.department_code IS NULL AND NEW.assignee_staff_no IS NULL
           AND nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL THEN
            RAISE EXCEPTION 'a dispatch names a department_code, an assignee_staff_no or both.'
                USING ERRCODE = 'GG400';
        END IF;
        IF NEW.cohandling_departments IS NULL THEN
            NEW.cohandling_departments := (
                SELECT array_agg(department_code ORDER BY department_code)
                  FROM gridgeo.incident_category_cohandlers
                 WHERE category_code = NEW.category_code
                   AND department_code IS DISTINCT FROM NEW.department_code);
        END IF;
        PERFORM gridgeo.incident_dispatch_event(NEW, OLD, 'dispatch');
    ELSIF moved OR NEW.cohandling_departments IS DISTINCT FROM OLD.cohandling_departments THEN
        IF gridgeo.incident_state_is_final(OLD.state) THEN
            RAISE EXCEPTION 'incident % is %, a final state: it is not reassigned any more.',
                OLD.case_no, OLD.state USING ERRCODE = 'GG400';
        END IF;
        IF (OLD.department_code IS NOT NULL OR OLD.assignee_staff_no IS NOT NULL)
           AND (nullif(btrim(NEW.dispatch_note), '') IS NULL
                OR NEW.dispatch_note IS NOT DISTINCT FROM OLD.dispatch_note) THEN
            RAISE EXCEPTION 'reassigning incident % needs a new dispatch_note saying why.',
                OLD.case_no USING ERRCODE = 'GG400';
        END IF;
        PERFORM gridgeo.incident_dispatch_event(NEW, OLD, 'reassign');
    END IF;
    RETURN NEW;
END $$;
-- After incidents_before_update (the transition is legal by then), before the grid codes.
CREATE TRIGGER incidents_dispatch BEFORE INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_dispatch();

-- The view adds the dispatch at the end.
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
       i.colour_note,
       i.department_code, d.name AS department_name, i.assignee_staff_no,
       a.name AS assignee_name, i.cohandling_departments, i.dispatch_note
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true;
