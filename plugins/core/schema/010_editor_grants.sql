-- requires: core/009
-- What QGIS editors may do with each relation, as data: a migration that adds a table the
-- editors' layers read (directly or through a view's functions) adds a row here instead of
-- restating gridgeo.grant_editors(). Seeded with core/004's lists.
CREATE TABLE gridgeo.editor_grants (
    relation text PRIMARY KEY,
    mode     text NOT NULL CHECK (mode IN ('edit', 'read', 'never'))
);

INSERT INTO gridgeo.editor_grants (relation, mode)
SELECT unnest(ARRAY['grids', 'grid_assignments', 'police_grids', 'police_grid_assignments',
                    'addresses', 'greenhouses', 'mine_tunnels', 'staff', 'departments']), 'edit'
UNION ALL
SELECT unnest(ARRAY['deployment', 'grid_versions', 'incidents', 'inspections', 'roads',
                    'incident_categories', 'incident_colours', 'incident_events',
                    'patrol_routes', 'grid_police_crosswalk',
                    'grids_view', 'police_grids_view', 'addresses_view',
                    'greenhouses_view', 'mine_tunnels_view', 'roads_view',
                    'incidents_view', 'inspections_view', 'patrol_routes_view',
                    'incident_events_view', 'grid_police_crosswalk_view',
                    'greenhouses_due', 'mine_tunnels_due']), 'read'
UNION ALL
SELECT unnest(ARRAY['audit_log', 'jobs', 'schema_migrations', 'idempotency_keys']), 'never';

CREATE OR REPLACE FUNCTION gridgeo.grant_editors() RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    grant_row record;
    seq regclass;
BEGIN
    IF to_regrole('gridgeo_editors') IS NULL THEN
        RAISE NOTICE 'role gridgeo_editors does not exist; nothing granted';
        RETURN;
    END IF;
    GRANT USAGE ON SCHEMA gridgeo TO gridgeo_editors;
    FOR grant_row IN SELECT g.relation, g.mode FROM gridgeo.editor_grants g
                     WHERE to_regclass(format('gridgeo.%I', g.relation)) IS NOT NULL
                     ORDER BY g.relation
    LOOP
        IF grant_row.mode = 'never' THEN
            EXECUTE format('REVOKE ALL ON gridgeo.%I FROM gridgeo_editors', grant_row.relation);
        ELSIF grant_row.mode = 'read' THEN
            EXECUTE format('GRANT SELECT ON gridgeo.%I TO gridgeo_editors', grant_row.relation);
        ELSE
            EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON gridgeo.%I TO gridgeo_editors',
                           grant_row.relation);
            FOR seq IN SELECT d.objid::regclass FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                        WHERE d.refobjid = format('gridgeo.%I', grant_row.relation)::regclass
                          AND d.classid = 'pg_class'::regclass AND s.relkind = 'S'
            LOOP
                EXECUTE format('GRANT USAGE ON SEQUENCE %s TO gridgeo_editors', seq);
            END LOOP;
        END IF;
    END LOOP;
END $$;
REVOKE EXECUTE ON FUNCTION gridgeo.grant_editors() FROM PUBLIC;

SELECT gridgeo.grant_editors();
