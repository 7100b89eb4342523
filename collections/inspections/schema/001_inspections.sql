-- requires: grids/001
-- Inspection records: QR scans and visits, uploaded later with their original time.
CREATE TABLE gridgeo.inspections (
    id                  bigserial PRIMARY KEY,
    scan_uuid           uuid NOT NULL UNIQUE,
    target_collection   text NOT NULL CHECK (target_collection IN ('addresses', 'greenhouses',
                            'mine_tunnels', 'incidents', 'grids')),
    target_code         text NOT NULL,
    inspector_id        integer REFERENCES gridgeo.staff (id) ON DELETE SET NULL,
    scanned_at          timestamptz NOT NULL,
    received_at         timestamptz NOT NULL DEFAULT now(),
    accuracy_m          double precision CHECK (accuracy_m >= 0),
    result              text NOT NULL,
    note                text,
    photos              jsonb NOT NULL DEFAULT '[]',
    flagged             boolean NOT NULL DEFAULT false,
    flag_reason         text,
    grid_code           text,
    dedicated_grid_code text,
    geom                geometry(Point, 4490),
    CONSTRAINT inspections_not_future CHECK (scanned_at <= received_at + interval '5 minutes')
);
CREATE INDEX inspections_geom_idx ON gridgeo.inspections USING gist (geom);
CREATE INDEX inspections_target_idx ON gridgeo.inspections (target_collection, target_code);
CREATE TRIGGER inspections_grid_codes BEFORE INSERT OR UPDATE ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.assign_grid_codes();

CREATE VIEW gridgeo.inspections_view AS
SELECT i.id, i.scan_uuid, i.target_collection, i.target_code, i.inspector_id,
       s.name AS inspector_name, i.scanned_at, i.received_at, i.accuracy_m, i.result, i.note,
       i.photos, i.flagged, i.flag_reason, i.grid_code, i.dedicated_grid_code, i.geom
  FROM gridgeo.inspections i
  LEFT JOIN gridgeo.staff s ON s.id = i.inspector_id;
