-- requires: incidents/002
-- The nearest address within 300 m, found through the geometry index: ST_DWithin on
-- geography cannot use the (geometry) index, so an incident with no address that close
-- read every address (0.2 s each at 100,000 addresses; 38 s for a county's 10,000
-- incidents). A box of a little more than 300 m around the point comes first.
CREATE OR REPLACE FUNCTION gridgeo.incidents_places() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    -- 300 m in degrees, with slack: 0.003 deg of latitude is 333 m.
    dlat constant double precision := 0.003;
    dlon double precision;
BEGIN
    NEW.police_grid_code := coalesce(
        gridgeo.crosswalk_police_grid(NEW.grid_code),
        (SELECT code FROM gridgeo.police_grids WHERE ST_Intersects(geom, NEW.geom)
          ORDER BY code LIMIT 1));
    IF NEW.address_id IS NULL THEN
        dlon := dlat / greatest(cos(radians(ST_Y(ST_PointOnSurface(NEW.geom)))), 0.01);
        SELECT a.id, coalesce(NEW.address_text, a.full_address)
          INTO NEW.address_id, NEW.address_text
          FROM gridgeo.addresses a
         WHERE a.geom && ST_Expand(NEW.geom, dlon, dlat)
           AND ST_DWithin(a.geom::geography, NEW.geom::geography, 300)
         ORDER BY a.geom <-> NEW.geom LIMIT 1;
    END IF;
    NEW.grid_worker_id := (SELECT a.staff_id FROM gridgeo.grid_assignments a
                             JOIN gridgeo.staff s ON s.id = a.staff_id
                            WHERE a.grid_code = NEW.grid_code AND a.role = 'worker' AND s.active
                            ORDER BY a.staff_id LIMIT 1);
    RETURN NEW;
END $$;
