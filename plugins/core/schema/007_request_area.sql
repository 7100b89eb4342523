-- requires: core/006
-- The area a request reads, so row-level security can use the geometry index.
--
-- Under forced row-level security PostgreSQL applies the policies before any condition
-- of the query that is not leakproof, and PostGIS's && is not: a tile or bbox request
-- on incidents read every row (an incidents tile took 135 ms at 100,000 incidents, 10 ms
-- at 10,000). A policy's own conditions come first, so they may use an index. A request
-- that reads an area (a tile with its margin, a bbox) names it in the transaction-local
-- setting gridgeo.area (gridgeo.db.area); the restrictive policy below then finds the
-- rows through the GiST index. Unset, the area is the whole plane and hides nothing.
-- Marking && LEAKPROOF instead would need a superuser.
CREATE FUNCTION gridgeo.request_area() RETURNS geometry
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(nullif(current_setting('gridgeo.area', true), '')::geometry,
                          'SRID=4490;POLYGON((-1e9 -1e9,-1e9 1e9,1e9 1e9,1e9 -1e9,-1e9 -1e9))'
                              ::geometry) $$;

-- Restrictive: it only ever narrows what the other policies let through, and only to the
-- area the request itself asked for. incidents.geom is NOT NULL, so the whole plane is
-- every row. (inspections.geom may be NULL and is not tiled: it has no such policy.)
CREATE POLICY incidents_area ON gridgeo.incidents AS RESTRICTIVE FOR SELECT
    USING (geom && gridgeo.request_area());
