-- requires: core/003, jobs/001, grids/002, police_grids/001, addresses/002, greenhouses/002, mine_tunnels/003, roads/001, patrol_routes/001, incidents/002, inspections/002, incident_events/001, grid_police_crosswalk/001, greenhouses_due/001, mine_tunnels_due/001
-- GIS staff edit the layers directly in QGIS (it cannot edit over OGC API) as login roles
-- that are members of the NOLOGIN group gridgeo_editors (`gridgeo db editor add NAME`,
-- docs/qgis-editing.md). The database gives them the rights and rules the API gives
-- gis_editor: such a connection is never a trusted maintenance path, whatever settings
-- it makes, and its writes are audited as 'qgis:<login>'.

-- ---------------------------------------------------------------- the group role
-- Roles are cluster-wide and every database of the cluster runs this migration. The
-- app's role usually may not create roles: then `gridgeo db editor add` creates the
-- group as the cluster admin and calls gridgeo.grant_editors() itself.
DO $$
BEGIN
    IF to_regrole('gridgeo_editors') IS NULL THEN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = current_user
                                          AND (rolsuper OR rolcreaterole)) THEN
            CREATE ROLE gridgeo_editors NOLOGIN;
        ELSE
            RAISE NOTICE 'role gridgeo_editors not created: % may not create roles; '
                '`gridgeo db editor add` creates it', current_user;
        END IF;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- another database's migration created it at the same moment
END $$;

-- ---------------------------------------------------------------- who is an editor
-- Membership is read from the catalog, never from settings (a client sets those).
-- pg_has_role answers from the backend's membership cache (every RLS check of every row
-- calls this; a catalog walk here made a grid worker's incident list 25x slower); it
-- also says yes for superusers, who are maintenance, not editors. session_user is the
-- login: it covers SET ROLE gridgeo_editors and SECURITY DEFINER functions
-- (audit_write), where current_user is their owner. Nested groups count.
CREATE FUNCTION gridgeo.request_editor() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(pg_has_role(session_user, to_regrole('gridgeo_editors'), 'MEMBER'),
                          false)
                 AND NOT coalesce((SELECT rolsuper FROM pg_catalog.pg_roles
                                    WHERE rolname = session_user), false) $$;

-- The app's own role (the one running this migration, which owns the schema) is never
-- an editor: its name is written into the two functions every RLS check calls, so a
-- request pays one name comparison and the functions stay inlinable. Any other login is
-- looked up.
DO $$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION gridgeo.request_trusted() RETURNS boolean
            LANGUAGE sql STABLE PARALLEL SAFE
            AS $b$ SELECT (coalesce(current_setting('gridgeo.maintenance', true), '') = 'on'
                           OR current_setting('gridgeo.roles', true) IS NULL)
                          AND (session_user = %1$L OR NOT gridgeo.request_editor()) $b$;
        -- An editor is gis_editor (and, like every caller, anonymous) whatever
        -- gridgeo.roles says.
        CREATE OR REPLACE FUNCTION gridgeo.request_roles() RETURNS text[]
            LANGUAGE sql STABLE PARALLEL SAFE
            AS $b$ SELECT CASE WHEN session_user = %1$L OR NOT gridgeo.request_editor()
                               THEN string_to_array(nullif(current_setting('gridgeo.roles',
                                                                           true), ''), ',')
                               ELSE ARRAY['anonymous', 'gis_editor'] END $b$;
    $f$, session_user);
END $$;

-- ---------------------------------------------------------------- audit
-- SECURITY DEFINER: an editor has no right on audit_log, the trigger writes it as the
-- log's owner. A trigger function cannot be called directly, so nobody can append a row
-- with an actor of their choosing through it; an editor's actor is its login.
CREATE OR REPLACE FUNCTION gridgeo.audit_write() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    editor boolean := gridgeo.request_editor();
BEGIN
    INSERT INTO gridgeo.audit_log (actor, roles, table_name, operation, row_id, changed)
    VALUES (CASE WHEN editor THEN 'qgis:' || session_user
                 ELSE coalesce(nullif(current_setting('gridgeo.actor', true), ''),
                               'maintenance:' || session_user) END,
            CASE WHEN editor THEN 'anonymous,gis_editor'
                 ELSE nullif(current_setting('gridgeo.roles', true), '') END,
            TG_TABLE_NAME, TG_OP,
            coalesce(new_row, old_row) ->> 'id',
            CASE WHEN TG_OP = 'UPDATE' THEN
                ARRAY(SELECT n.key FROM jsonb_each(new_row) n
                       WHERE n.value IS DISTINCT FROM old_row -> n.key ORDER BY n.key)
            END);
    RETURN NULL;
END $$;

-- Grid history: a boundary change or a deletion by an editor still closes the old
-- version into grid_versions, which editors may read but not write. A SECURITY DEFINER
-- function must not find functions through the caller's search_path: these get
-- pg_catalog and PostGIS's schema (wherever it was installed), nothing a caller can
-- create in (see docs/qgis-editing.md for PostgreSQL before 15 and its public schema).
DO $$
DECLARE
    postgis name := (SELECT extnamespace::regnamespace::name FROM pg_extension
                      WHERE extname = 'postgis');
BEGIN
    EXECUTE format('ALTER FUNCTION gridgeo.grids_before_write() SECURITY DEFINER '
                   'SET search_path = pg_catalog, %I, pg_temp', postgis);
    EXECUTE format('ALTER FUNCTION gridgeo.grids_after_delete() SECURITY DEFINER '
                   'SET search_path = pg_catalog, %I, pg_temp', postgis);
END $$;

-- ---------------------------------------------------------------- the API's rules, for editors
-- The API checks these in Python (gridgeo/items/validate.py) before the database sees a
-- write; an editor's write reaches the database directly. The constraints stay the
-- guarantee; this trigger runs first (named to sort before the tables' own triggers) and
-- only for editors, so bulk loads pay nothing but the membership test, and an editor
-- reads a sentence in QGIS instead of a constraint name and a hex dump of the row.
CREATE FUNCTION gridgeo.editor_rules() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb;
    old_row jsonb;
    col text;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Columns the database computes (gridgeo.catalog.SERVER_SET): the API refuses them
        -- in a body, so do we.
        new_row := to_jsonb(NEW) - 'geom';
        old_row := to_jsonb(OLD) - 'geom';
        FOREACH col IN ARRAY ARRAY['grid_code', 'dedicated_grid_code', 'area_m2', 'length_m',
                                   'valid_from'] LOOP
            IF new_row ? col AND new_row -> col IS DISTINCT FROM old_row -> col THEN
                RAISE EXCEPTION '% is computed by the database (from the geometry or the '
                    'grid history) and cannot be edited; undo that change.', col
                    USING ERRCODE = 'GG400';
            END IF;
        END LOOP;
    ELSIF TG_TABLE_NAME = 'grids' THEN
        NEW.valid_from := now();  -- a new grid's history starts now, not when the editor says
    END IF;
    IF TG_OP = 'INSERT' OR NEW.geom IS DISTINCT FROM OLD.geom THEN
        PERFORM gridgeo.editor_check_geometry(NEW.geom, TG_TABLE_NAME);
    END IF;
    IF TG_TABLE_NAME = 'grids' THEN
        PERFORM gridgeo.editor_check_grid_code(NEW.code, NEW.level, NEW.parent_code,
                                               NEW.village_code);
    END IF;
    RETURN NEW;
END $$;

-- Geometry rules of gridgeo/items/validate.py, with its sentences. ERRCODE and CONSTRAINT
-- are the constraint's, so a client sees the same kind of refusal as from the CHECK.
CREATE FUNCTION gridgeo.editor_check_geometry(g geometry, layer text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    validity valid_detail;  -- ST_IsValidDetail: unlike ST_IsValid, it adds no NOTICE
BEGIN
    IF g IS NULL THEN
        RETURN;  -- NOT NULL says it
    ELSIF ST_IsEmpty(g) THEN
        RAISE EXCEPTION 'the geometry is empty; draw the feature or delete it.'
            USING ERRCODE = 'check_violation', CONSTRAINT = layer || '_geom_valid';
    ELSIF ST_XMin(g) < -180 OR ST_XMax(g) > 180 OR ST_YMin(g) < -90 OR ST_YMax(g) > 90 THEN
        RAISE EXCEPTION 'the geometry lies outside longitude -180..180, latitude -90..90: '
            'this layer stores EPSG:4490 longitude/latitude; check the CRS of what you '
            'pasted or imported.'
            USING ERRCODE = 'check_violation', CONSTRAINT = layer || '_geom_valid';
    END IF;
    validity := ST_IsValidDetail(g);
    IF NOT validity.valid THEN
        RAISE EXCEPTION 'the geometry is invalid: %; fix the rings so they do not cross '
            'themselves or each other (QGIS: Vector > Geometry Tools > Check Validity).',
            validity.reason || coalesce(' at ' || ST_AsText(validity.location, 6), '')
            USING ERRCODE = 'check_violation', CONSTRAINT = layer || '_geom_valid';
    END IF;
END $$;

-- grids_code_format and grids_village_code in sentences. Same expressions as the
-- constraints, refused only when they are false (a CHECK lets NULL pass), so this is
-- never stricter than the constraints themselves.
CREATE FUNCTION gridgeo.editor_check_grid_code(code text, level text, parent_code text,
                                               village_code text) RETURNS void
    LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    layout boolean := CASE level
        WHEN 'town'    THEN code ~ '^[0-9]{9}$' AND parent_code IS NULL
        WHEN 'area'    THEN code ~ '^[0-9]{9}P[0-9]{2}$' AND parent_code = left(code, 9)
        WHEN 'village' THEN code ~ '^[0-9]{12}$' AND left(parent_code, 9) = left(code, 9)
                            AND parent_code ~ '^[0-9]{9}P[0-9]{2}$'
        WHEN 'unit'    THEN code ~ '^[0-9]{15}$' AND parent_code = left(code, 12)
        WHEN 'micro'   THEN code ~ '^[0-9]{17}$' AND parent_code = left(code, 15) END;
    rule text := CASE level
        WHEN 'town'    THEN 'a town grid''s code is 9 digits and it has no parent_code'
        WHEN 'area'    THEN 'an area grid''s code is its town''s 9 digits, P and 2 digits '
                            '(e.g. 410399101P01); its parent_code is the town''s code'
        WHEN 'village' THEN 'a village grid''s code is 12 digits starting with its town''s 9; '
                            'its parent_code is an area grid of that town (9 digits, P, 2 digits)'
        WHEN 'unit'    THEN 'a unit grid''s code is 15 digits: its parent_code (the '
                            'village''s 12 digits) and 3 more'
        WHEN 'micro'   THEN 'a micro grid''s code is 17 digits: its parent_code (the unit '
                            'grid''s 15 digits) and 2 more' END;
BEGIN
    IF layout IS FALSE THEN
        RAISE EXCEPTION 'grid code % (level %, parent_code %) does not fit the coding rule: %.',
            code, level, coalesce(parent_code, 'empty'), rule
            USING ERRCODE = 'check_violation', CONSTRAINT = 'grids_code_format';
    END IF;
    IF (village_code IS NULL AND level IN ('town', 'area')
        OR village_code = left(code, 12) AND level IN ('village', 'unit', 'micro')) IS FALSE THEN
        RAISE EXCEPTION 'village_code of grid % must be %.', code,
            CASE WHEN level IN ('town', 'area') THEN 'empty for a town or area grid'
                 ELSE left(code, 12) || ', the first 12 digits of its code' END
            USING ERRCODE = 'check_violation', CONSTRAINT = 'grids_village_code';
    END IF;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['grids', 'police_grids', 'addresses', 'greenhouses',
                             'mine_tunnels']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON gridgeo.%I FOR EACH ROW '
                       'WHEN (gridgeo.request_editor()) EXECUTE FUNCTION gridgeo.editor_rules()',
                       'aa_' || t || '_editor_rules', t);
    END LOOP;
END $$;

-- ---------------------------------------------------------------- privileges
-- A function, not statements: `gridgeo db editor add` calls it again as the cluster admin
-- when the group did not exist yet while this migration ran. Everything is named: a table
-- a later migration adds is not the editors' until it is listed here.
CREATE FUNCTION gridgeo.grant_editors() RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    edited text[] := ARRAY['grids', 'grid_assignments', 'police_grids',
                           'police_grid_assignments', 'addresses', 'greenhouses',
                           'mine_tunnels', 'staff', 'departments'];
    -- incidents and inspections run their workflow (state machine, scans) through the API;
    -- roads are a routable network that `gridgeo import` builds whole (noding, costs),
    -- and the API does not edit them either.
    read_only text[] := ARRAY['deployment', 'grid_versions', 'incidents', 'inspections', 'roads',
                              'incident_categories', 'incident_colours', 'incident_events',
                              'patrol_routes', 'grid_police_crosswalk',
                              'grids_view', 'police_grids_view', 'addresses_view',
                              'greenhouses_view', 'mine_tunnels_view', 'roads_view',
                              'incidents_view', 'inspections_view', 'patrol_routes_view',
                              'incident_events_view', 'grid_police_crosswalk_view',
                              'greenhouses_due', 'mine_tunnels_due'];
    never text[] := ARRAY['audit_log', 'jobs', 'schema_migrations'];
    t text;
    seq regclass;
BEGIN
    IF to_regrole('gridgeo_editors') IS NULL THEN
        RAISE NOTICE 'role gridgeo_editors does not exist; nothing granted';
        RETURN;
    END IF;
    GRANT USAGE ON SCHEMA gridgeo TO gridgeo_editors;
    FOREACH t IN ARRAY edited LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON gridgeo.%I TO gridgeo_editors', t);
        FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                    WHERE d.refobjid = format('gridgeo.%I', t)::regclass
                      AND d.classid = 'pg_class'::regclass AND s.relkind = 'S'
        LOOP
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO gridgeo_editors', seq);
        END LOOP;
    END LOOP;
    FOREACH t IN ARRAY read_only LOOP
        IF to_regclass(format('gridgeo.%I', t)) IS NOT NULL THEN
            EXECUTE format('GRANT SELECT ON gridgeo.%I TO gridgeo_editors', t);
        END IF;
    END LOOP;
    FOREACH t IN ARRAY never LOOP
        IF to_regclass(format('gridgeo.%I', t)) IS NOT NULL THEN
            EXECUTE format('REVOKE ALL ON gridgeo.%I FROM gridgeo_editors', t);
        END IF;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION gridgeo.grant_editors() FROM PUBLIC;

SELECT gridgeo.grant_editors();
