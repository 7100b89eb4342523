-- requires: grids/001
CREATE TABLE gridgeo.example_parks (
    id        serial PRIMARY KEY,
    name      text NOT NULL,
    grid_code text,
    dedicated_grid_code text,
    geom      geometry(Point, 4490) NOT NULL
);
CREATE TRIGGER example_parks_grid_codes BEFORE INSERT OR UPDATE ON gridgeo.example_parks
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();
-- Three parks at the centres of the first three unit grids (if any exist yet).
INSERT INTO gridgeo.example_parks (name, geom)
SELECT '口袋公园' || row_number() OVER (ORDER BY code), ST_PointOnSurface(geom)
  FROM gridgeo.grids WHERE level = 'unit' AND kind = 'basic' ORDER BY code LIMIT 3;
