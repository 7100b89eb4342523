-- requires: grids/001
-- Agricultural greenhouses, scanned monthly; the risk is conversion into housing (大棚房).
-- The operator is usually a resident: name, phone and ID number are personal.
CREATE TABLE gridgeo.greenhouses (
    id                  serial PRIMARY KEY,
    gh_no               text NOT NULL UNIQUE CHECK (gh_no ~ '^[0-9]{12}DP[0-9]{4}$'),
    operator_name       text,
    operator_phone      text,
    operator_id_number  text,
    use                 text NOT NULL CHECK (use IN ('vegetables', 'fruit', 'flowers',
                            'seedlings', 'mushrooms', 'idle', 'other')),
    status              text NOT NULL CHECK (status IN ('in_use', 'idle', 'abandoned',
                            'suspected_conversion', 'converted_to_housing', 'demolished')),
    built_year          integer,
    area_m2             double precision,
    last_scanned_at     timestamptz,
    grid_code           text,
    dedicated_grid_code text,
    geom                geometry(Polygon, 4490) NOT NULL,
    CONSTRAINT greenhouses_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX greenhouses_geom_idx ON gridgeo.greenhouses USING gist (geom);
CREATE TRIGGER greenhouses_grid_codes BEFORE INSERT OR UPDATE ON gridgeo.greenhouses
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();
CREATE TRIGGER greenhouses_area BEFORE INSERT OR UPDATE OF geom ON gridgeo.greenhouses
    FOR EACH ROW EXECUTE FUNCTION gridgeo.set_area_m2();

CREATE VIEW gridgeo.greenhouses_view AS
SELECT g.id, g.gh_no, g.operator_name, g.operator_phone, g.operator_id_number, g.use,
       g.status, g.built_year, round(g.area_m2::numeric, 1)::double precision AS area_m2,
       g.last_scanned_at, g.grid_code, g.dedicated_grid_code,
       gridgeo.qr_url('g', g.gh_no) AS qr_payload, g.geom
  FROM gridgeo.greenhouses g;
