-- requires: incidents/008
-- Separation of duties: who resolved a case does not verify it, and verifying needs a person
-- (a staff member behind the request, gridgeo.staff_no) holding a role that
-- gridgeo.incident_authorities names for 'verify'. An API key shared by a role names no one.
ALTER TABLE gridgeo.incidents
    ADD COLUMN resolved_by text,   -- the resolver's staff_no, else the API caller
    ADD COLUMN verified_by text;   -- the verifier's staff_no

INSERT INTO gridgeo.incident_authorities (action, role) VALUES
    ('verify', 'admin'), ('verify', 'gis_editor') ON CONFLICT DO NOTHING;

CREATE FUNCTION gridgeo.incident_verifier_problem(case_no text, resolved_by text) RETURNS text
    LANGUAGE sql STABLE AS $$
    WITH caller AS (SELECT nullif(current_setting('gridgeo.staff_no', true), '') AS person)
    SELECT CASE
        WHEN person IS NULL THEN format('verifying incident %s needs a named person: sign in '
            'with your own account (a token naming your staff number); an API key shared by '
            'a role names no one.', case_no)
        WHEN NOT EXISTS (SELECT FROM gridgeo.staff WHERE staff_no = person AND active) THEN
            format('%s is not an active staff member; only staff verify incidents.', person)
        WHEN NOT EXISTS (SELECT FROM gridgeo.incident_authorities
                          WHERE action = 'verify' AND gridgeo.request_has_role(role)) THEN
            format('verifying needs one of the roles: %s.',
                   (SELECT string_agg(role, ', ' ORDER BY role)
                      FROM gridgeo.incident_authorities WHERE action = 'verify'))
        WHEN person = resolved_by THEN format('you resolved incident %s yourself; another '
            'person verifies it (separation of duties).', case_no)
        END
      FROM caller $$;

CREATE FUNCTION gridgeo.incidents_duties() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    by_api boolean := nullif(current_setting('gridgeo.actor', true), '') IS NOT NULL;
    person text := nullif(current_setting('gridgeo.staff_no', true), '');
    problem text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        RETURN NEW;
    END IF;
    -- Written by the transitions only, like the transition times.
    NEW.resolved_by := OLD.resolved_by;
    NEW.verified_by := OLD.verified_by;
    IF NEW.state IS NOT DISTINCT FROM OLD.state THEN
        RETURN NEW;
    END IF;
    IF NEW.state = 'resolved' THEN
        NEW.resolved_by := coalesce(person, gridgeo.current_actor());
    ELSIF NEW.state = 'verified' THEN
        IF by_api THEN
            problem := gridgeo.incident_verifier_problem(OLD.case_no, OLD.resolved_by);
            IF problem IS NOT NULL THEN
                RAISE EXCEPTION '%', problem USING ERRCODE = 'GG403';
            END IF;
        END IF;
        NEW.verified_by := coalesce(person, gridgeo.current_actor());
    END IF;
    RETURN NEW;
END $$;
-- After incidents_before_update and incidents_dispatch (trigger names run in order).
CREATE TRIGGER incidents_duties BEFORE INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_duties();

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
       a.name AS assignee_name, i.cohandling_departments, i.dispatch_note,
       i.resolved_by, i.verified_by
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true;
