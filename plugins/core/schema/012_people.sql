-- requires: core/011, patrol_routes/001
-- The people behind every request: API keys and JWT subjects name a staff member
-- (gridgeo.staff_no, set per transaction) or a system (gridgeo.actor 'system:12345'),
-- and every scan, state change and stored route records it.

CREATE FUNCTION gridgeo.request_staff_id() RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT id FROM gridgeo.staff
           WHERE staff_no = nullif(current_setting('gridgeo.staff_no', true), '') $$;

-- A scan names its inspector (the staff member), not only the login that sent it.
CREATE FUNCTION gridgeo.inspections_inspector() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.inspector_id := coalesce(NEW.inspector_id, gridgeo.request_staff_id());
    RETURN NEW;
END $$;
CREATE TRIGGER aa_inspections_inspector BEFORE INSERT ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.inspections_inspector();

-- Each state change: the actor (login or system) and the staff number behind it.
ALTER TABLE gridgeo.incident_events
    ADD COLUMN staff_no text DEFAULT nullif(current_setting('gridgeo.staff_no', true), '');

-- Each stored route: who stored it.
ALTER TABLE gridgeo.patrol_routes
    ADD COLUMN created_by text DEFAULT gridgeo.current_actor(),
    ADD COLUMN created_by_staff_no text
        DEFAULT nullif(current_setting('gridgeo.staff_no', true), '');
