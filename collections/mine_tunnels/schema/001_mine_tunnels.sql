-- requires: grids/001
-- Sealed mine adits (封闭矿洞), one file per adit (一洞一档).
CREATE TABLE gridgeo.mine_tunnels (
    id                     serial PRIMARY KEY,
    adit_no                text NOT NULL UNIQUE CHECK (adit_no ~ '^[0-9]{6}KD[0-9]{4}$'),
    name                   text NOT NULL,
    mineral                text NOT NULL CHECK (mineral IN ('gold', 'molybdenum', 'silver',
                               'lead_zinc', 'iron', 'other')),
    seal_method            text NOT NULL CHECK (seal_method IN ('concrete_wall', 'backfill',
                               'blasting', 'steel_gate', 'other')),
    sealed_on              date NOT NULL,
    status                 text NOT NULL CHECK (status IN ('sealed', 'suspected_reopened',
                               'reopened', 'resealed')),
    patrol_frequency_days  integer NOT NULL CHECK (patrol_frequency_days BETWEEN 1 AND 366),
    last_inspected_at      timestamptz,
    responsible_unit       text NOT NULL,
    elevation_m            double precision,
    slope_deg              double precision,
    grid_code              text,
    dedicated_grid_code    text,
    geom                   geometry(Point, 4490) NOT NULL
);
CREATE INDEX mine_tunnels_geom_idx ON gridgeo.mine_tunnels USING gist (geom);
CREATE TRIGGER mine_tunnels_grid_codes BEFORE INSERT OR UPDATE ON gridgeo.mine_tunnels
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();

CREATE VIEW gridgeo.mine_tunnels_view AS
SELECT t.id, t.adit_no, t.name, t.mineral, t.seal_method, t.sealed_on, t.status,
       t.patrol_frequency_days, t.last_inspected_at,
       (coalesce(t.last_inspected_at, t.sealed_on::timestamptz)
            + make_interval(days => t.patrol_frequency_days))::date AS inspection_due_on,
       t.responsible_unit, t.elevation_m, t.slope_deg, t.grid_code, t.dedicated_grid_code,
       gridgeo.qr_url('k', t.adit_no) AS qr_payload, t.geom
  FROM gridgeo.mine_tunnels t;
