-- requires: core/001
-- Police grids (警格), drawn by the police independently of the town's grids.
CREATE TABLE gridgeo.police_grids (
    id           serial PRIMARY KEY,
    code         text NOT NULL UNIQUE CHECK (code ~ '^[0-9]{6}J[0-9]{2}[0-9]{3}$'),
    name         text NOT NULL,
    station_code text NOT NULL REFERENCES gridgeo.departments (code) ON UPDATE CASCADE,
    area_m2      double precision,
    geom         geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT police_grids_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX police_grids_geom_idx ON gridgeo.police_grids USING gist (geom);

CREATE TRIGGER police_grids_area BEFORE INSERT OR UPDATE OF geom ON gridgeo.police_grids
    FOR EACH ROW EXECUTE FUNCTION gridgeo.set_area_m2();

CREATE TABLE gridgeo.police_grid_assignments (
    police_grid_code text NOT NULL REFERENCES gridgeo.police_grids (code)
                         ON UPDATE CASCADE ON DELETE CASCADE,
    staff_id         integer NOT NULL REFERENCES gridgeo.staff (id) ON DELETE CASCADE,
    PRIMARY KEY (police_grid_code, staff_id)
);

CREATE VIEW gridgeo.police_grids_view AS
SELECT p.id, p.code, p.name, p.station_code, d.name AS station_name,
       round(p.area_m2::numeric, 1)::double precision AS area_m2,
       officers.names AS officer_names, officers.phones AS officer_phones, p.geom
  FROM gridgeo.police_grids p
  JOIN gridgeo.departments d ON d.code = p.station_code
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.police_grid_assignments a JOIN gridgeo.staff s ON s.id = a.staff_id
         WHERE a.police_grid_code = p.code) officers ON true;
