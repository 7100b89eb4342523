-- requires: grids/001, police_grids/001, addresses/001, greenhouses/001, mine_tunnels/001, patrol_routes/001, incidents/002, inspections/002
-- Who did what, and who may reach which rows.
--
-- Every pooled transaction a request uses starts by naming its caller in
-- transaction-local settings (gridgeo.db.pool.connection): gridgeo.roles (comma list,
-- always including 'anonymous'), gridgeo.staff_no and gridgeo.actor. Pooled connections
-- carry gridgeo.roles = '' at session level, so a transaction that skipped that step
-- reaches no protected row. Maintenance paths (migrations, demo loading, the CLI, psql)
-- have no request identity: they either set gridgeo.maintenance = 'on'
-- (gridgeo.db.pool.connect does) or never touched gridgeo.roles at all, which only a
-- connection outside the web app's pool can be.

-- ---------------------------------------------------------------- request identity
CREATE FUNCTION gridgeo.request_trusted() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('gridgeo.maintenance', true), '') = 'on'
                 OR current_setting('gridgeo.roles', true) IS NULL $$;

CREATE FUNCTION gridgeo.request_roles() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT string_to_array(nullif(current_setting('gridgeo.roles', true), ''), ',') $$;

CREATE FUNCTION gridgeo.request_has_role(VARIADIC wanted text[]) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(gridgeo.request_roles() && wanted, false) $$;

-- The unit grids the caller works in (grid_assignments via staff.staff_no).
CREATE FUNCTION gridgeo.request_grid_codes() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(DISTINCT a.grid_code), '{}')
            FROM gridgeo.grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id
           WHERE s.staff_no = nullif(current_setting('gridgeo.staff_no', true), '')
             AND s.active $$;

-- The police grids the caller is responsible for.
CREATE FUNCTION gridgeo.request_police_grid_codes() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(DISTINCT a.police_grid_code), '{}')
            FROM gridgeo.police_grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id
           WHERE s.staff_no = nullif(current_setting('gridgeo.staff_no', true), '')
             AND s.active $$;

-- Roles that reach every row; grid_worker and police are scoped to their grids; an
-- identity with none of these reads the public layer (the app drops personal fields
-- and decides whether the collection is public at all).
CREATE FUNCTION gridgeo.request_unscoped() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_trusted()
                 OR gridgeo.request_has_role('admin', 'gis_editor', 'viewer') $$;

CREATE FUNCTION gridgeo.request_public_reader() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_has_role('anonymous')
                 AND NOT gridgeo.request_has_role('grid_worker', 'police') $$;

CREATE FUNCTION gridgeo.request_may_edit_all() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_trusted() OR gridgeo.request_has_role('admin', 'gis_editor') $$;

-- ---------------------------------------------------------------- row-level security
ALTER TABLE gridgeo.incidents ENABLE ROW LEVEL SECURITY;
-- The app's role owns the table: without FORCE it would bypass every policy.
ALTER TABLE gridgeo.incidents FORCE ROW LEVEL SECURITY;

CREATE POLICY incidents_read ON gridgeo.incidents FOR SELECT USING (
    (SELECT gridgeo.request_unscoped())
    OR (SELECT gridgeo.request_public_reader())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[]))
    OR (gridgeo.request_has_role('police')
        AND police_grid_code = ANY ((SELECT gridgeo.request_police_grid_codes())::text[])));

CREATE POLICY incidents_insert ON gridgeo.incidents FOR INSERT WITH CHECK (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[]))
    OR (gridgeo.request_has_role('police')
        AND police_grid_code = ANY ((SELECT gridgeo.request_police_grid_codes())::text[])));

CREATE POLICY incidents_update ON gridgeo.incidents FOR UPDATE USING (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[]))
    OR (gridgeo.request_has_role('police')
        AND police_grid_code = ANY ((SELECT gridgeo.request_police_grid_codes())::text[])))
WITH CHECK (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[]))
    OR (gridgeo.request_has_role('police')
        AND police_grid_code = ANY ((SELECT gridgeo.request_police_grid_codes())::text[])));

CREATE POLICY incidents_delete ON gridgeo.incidents FOR DELETE USING (
    (SELECT gridgeo.request_may_edit_all()));

ALTER TABLE gridgeo.inspections ENABLE ROW LEVEL SECURITY;
ALTER TABLE gridgeo.inspections FORCE ROW LEVEL SECURITY;

CREATE POLICY inspections_read ON gridgeo.inspections FOR SELECT USING (
    (SELECT gridgeo.request_unscoped())
    OR (SELECT gridgeo.request_public_reader())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[])));

CREATE POLICY inspections_insert ON gridgeo.inspections FOR INSERT WITH CHECK (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[])));

CREATE POLICY inspections_update ON gridgeo.inspections FOR UPDATE USING (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[])))
WITH CHECK (
    (SELECT gridgeo.request_may_edit_all())
    OR (gridgeo.request_has_role('grid_worker') AND grid_code = ANY ((SELECT gridgeo.request_grid_codes())::text[])));

CREATE POLICY inspections_delete ON gridgeo.inspections FOR DELETE USING (
    (SELECT gridgeo.request_may_edit_all()));

-- ---------------------------------------------------------------- audit log
-- Append-only: the app reads it only through maintenance paths.
CREATE TABLE gridgeo.audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor      text NOT NULL,
    roles      text,
    table_name text NOT NULL,
    operation  text NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    row_id     text,
    changed    text[]  -- the columns an UPDATE changed
);
CREATE INDEX audit_log_table_row_idx ON gridgeo.audit_log (table_name, row_id);
CREATE INDEX audit_log_actor_idx ON gridgeo.audit_log (actor, at);

CREATE FUNCTION gridgeo.audit_write() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
BEGIN
    INSERT INTO gridgeo.audit_log (actor, roles, table_name, operation, row_id, changed)
    VALUES (coalesce(nullif(current_setting('gridgeo.actor', true), ''),
                     'maintenance:' || current_user),
            nullif(current_setting('gridgeo.roles', true), ''),
            TG_TABLE_NAME, TG_OP,
            coalesce(new_row, old_row) ->> 'id',
            CASE WHEN TG_OP = 'UPDATE' THEN
                ARRAY(SELECT n.key FROM jsonb_each(new_row) n
                       WHERE n.value IS DISTINCT FROM old_row -> n.key ORDER BY n.key)
            END);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['addresses', 'greenhouses', 'grids', 'grid_assignments',
                             'incidents', 'inspections', 'mine_tunnels', 'patrol_routes',
                             'police_grids', 'police_grid_assignments', 'staff', 'departments']
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE ON gridgeo.%I '
                       'FOR EACH ROW EXECUTE FUNCTION gridgeo.audit_write()',
                       t || '_audit', t);
    END LOOP;
END $$;

-- ---------------------------------------------------------------- a sentence for refusals
-- The policies above are the guarantee; this trigger runs first (BEFORE, named to sort
-- after the triggers that set grid codes) so a write outside the caller's grids is a
-- 403 with a sentence instead of a bare policy violation.
CREATE FUNCTION gridgeo.check_request_scope() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF gridgeo.request_may_edit_all()
       OR (gridgeo.request_has_role('grid_worker')
           AND NEW.grid_code = ANY (gridgeo.request_grid_codes()))
       OR (TG_TABLE_NAME = 'incidents' AND gridgeo.request_has_role('police')
           AND (to_jsonb(NEW) ->> 'police_grid_code') = ANY (gridgeo.request_police_grid_codes()))
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'this item lies in grid %, which is not assigned to you; you may only '
        'write in your own grids.', coalesce(NEW.grid_code, '(none)') USING ERRCODE = 'GG403';
END $$;
CREATE TRIGGER zz_incidents_scope BEFORE INSERT OR UPDATE ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.check_request_scope();
CREATE TRIGGER zz_inspections_scope BEFORE INSERT OR UPDATE ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.check_request_scope();
