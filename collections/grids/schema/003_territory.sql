-- requires: grids/002, core/004
-- The deployment's territory: its town-level grids with a 1 km margin. A point written
-- outside it (an incident, a scan, an address ...) would fall in no grid, so nobody would
-- ever see it; gridgeo.check_territory() refuses such writes (triggers on each point
-- table, so every path passes it: the API, Open311, scans, imports).
-- The territory is cached cut into small parts with a spatial index, so the check is
-- one index probe; triggers on grids rebuild it when a town-level grid changes.
CREATE TABLE gridgeo.territory_parts (
    id   serial PRIMARY KEY,
    geom geometry(Geometry, 4490) NOT NULL
);
CREATE INDEX territory_parts_geom_idx ON gridgeo.territory_parts USING gist (geom);

CREATE FUNCTION gridgeo.territory_margin_m() RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 1000.0::double precision $$;

CREATE FUNCTION gridgeo.refresh_territory() RETURNS void
    LANGUAGE sql AS $$
    DELETE FROM gridgeo.territory_parts;
    INSERT INTO gridgeo.territory_parts (geom)
    SELECT ST_Subdivide(ST_Transform(ST_Buffer(ST_Transform(t.geom, gridgeo.metric_srid()),
                                               gridgeo.territory_margin_m()), 4490), 64)
      FROM (SELECT ST_Union(geom) AS geom FROM gridgeo.grids WHERE level = 'town') t
     WHERE t.geom IS NOT NULL;
$$;

-- Only statements that touch a town-level grid rebuild it (bulk unit imports do not).
CREATE FUNCTION gridgeo.grids_refresh_territory() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    touched boolean := TG_OP = 'TRUNCATE';
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        touched := EXISTS (SELECT 1 FROM new_grids WHERE level = 'town');
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') AND NOT touched THEN
        touched := EXISTS (SELECT 1 FROM old_grids WHERE level = 'town');
    END IF;
    IF touched THEN
        PERFORM gridgeo.refresh_territory();
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER grids_territory_insert AFTER INSERT ON gridgeo.grids
    REFERENCING NEW TABLE AS new_grids
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo.grids_refresh_territory();
CREATE TRIGGER grids_territory_update AFTER UPDATE ON gridgeo.grids
    REFERENCING OLD TABLE AS old_grids NEW TABLE AS new_grids
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo.grids_refresh_territory();
CREATE TRIGGER grids_territory_delete AFTER DELETE ON gridgeo.grids
    REFERENCING OLD TABLE AS old_grids
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo.grids_refresh_territory();
CREATE TRIGGER grids_territory_truncate AFTER TRUNCATE ON gridgeo.grids
    FOR EACH STATEMENT EXECUTE FUNCTION gridgeo.grids_refresh_territory();

-- A BEFORE INSERT OR UPDATE OF geom trigger on point tables. No check while there is no
-- territory (a database with no grids yet). An admin's API request may allow one write
-- outside (gridgeo sets gridgeo.outside_territory for the transaction; see
-- docs/security.md); a QGIS editor's login cannot, whatever it sets.
CREATE FUNCTION gridgeo.check_territory() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.geom IS NULL
       OR (coalesce(current_setting('gridgeo.outside_territory', true), '') = 'allow'
           AND NOT gridgeo.request_editor())
       OR NOT EXISTS (SELECT 1 FROM gridgeo.territory_parts)
       OR EXISTS (SELECT 1 FROM gridgeo.territory_parts t
                   WHERE ST_Intersects(t.geom, NEW.geom)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the location (%, %) lies outside this deployment''s territory (its '
        'town grids and 1 km around them), so it would be in nobody''s grid: check the '
        'coordinates and their order (longitude first in CRS84).',
        round(ST_X(ST_PointOnSurface(NEW.geom))::numeric, 6),
        round(ST_Y(ST_PointOnSurface(NEW.geom))::numeric, 6)
        USING ERRCODE = 'GG400';
END $$;

-- QGIS editors (plugins/core/schema/004_qgis_editors.sql) have no right on the
-- territory: both functions run as its owner, finding functions only in pg_catalog and
-- PostGIS's schema, as the grid history functions do.
DO $$
DECLARE
    postgis name := (SELECT extnamespace::regnamespace::name FROM pg_extension
                      WHERE extname = 'postgis');
BEGIN
    EXECUTE format('ALTER FUNCTION gridgeo.refresh_territory() SECURITY DEFINER '
                   'SET search_path = pg_catalog, %I, pg_temp', postgis);
    EXECUTE format('ALTER FUNCTION gridgeo.check_territory() SECURITY DEFINER '
                   'SET search_path = pg_catalog, %I, pg_temp', postgis);
END $$;

SELECT gridgeo.refresh_territory();
