-- requires: incidents/009
-- Police cases (警网融合): a category marked as a police matter carries a response target
-- (15 minutes by default); its cases record when they were dispatched (dispatched_at, the
-- transition) and when the officer arrived on scene (arrived_at, given by the officer or
-- the command centre, once). The view says the response time and whether it was on time.
ALTER TABLE gridgeo.incident_categories
    ADD COLUMN police_response_target interval
        CHECK (police_response_target > interval '0');
COMMENT ON COLUMN gridgeo.incident_categories.police_response_target IS
    'Set for a police matter: the time from dispatch to arrival on scene (15 minutes).';

ALTER TABLE gridgeo.incidents ADD COLUMN arrived_at timestamptz;

CREATE FUNCTION gridgeo.incidents_police_arrival() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    dispatched timestamptz := CASE WHEN TG_OP = 'UPDATE' THEN OLD.dispatched_at END;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.arrived_at IS NOT DISTINCT FROM OLD.arrived_at THEN
        RETURN NEW;
    END IF;
    IF NEW.arrived_at IS NULL THEN
        RETURN NEW;
    END IF;
    IF nullif(current_setting('gridgeo.actor', true), '') IS NULL THEN
        RETURN NEW;  -- loaders bring their own history
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.arrived_at IS NOT NULL THEN
        RAISE EXCEPTION 'incident % has its arrival recorded already (%); it is not changed.',
            OLD.case_no, OLD.arrived_at USING ERRCODE = 'GG400';
    END IF;
    IF NOT EXISTS (SELECT FROM gridgeo.incident_categories
                    WHERE code = NEW.category_code AND police_response_target IS NOT NULL) THEN
        RAISE EXCEPTION 'arrived_at is recorded for police matters only; category % is not one.',
            NEW.category_code USING ERRCODE = 'GG400';
    END IF;
    IF dispatched IS NULL THEN
        RAISE EXCEPTION 'arrived_at follows the dispatch; dispatch the incident first.'
            USING ERRCODE = 'GG400';
    END IF;
    IF NEW.arrived_at < dispatched OR NEW.arrived_at > now() + interval '5 minutes' THEN
        RAISE EXCEPTION 'arrived_at must lie between the dispatch (%) and now.', dispatched
            USING ERRCODE = 'GG400';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_police_arrival BEFORE INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_police_arrival();

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
       i.resolved_by, i.verified_by,
       c.police_response_target IS NOT NULL AS police_matter, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1) AS response_minutes,
       i.arrived_at - i.dispatched_at <= c.police_response_target AS responded_on_time
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true;
