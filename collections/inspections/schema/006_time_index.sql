-- requires: inspections/005
-- A datetime page without sortby is read in time order (gridgeo/provider/query.py): each
-- month's partition keeps its scans in time order for it (incident_events/003 likewise).
CREATE INDEX inspections_scanned_idx ON gridgeo.inspections (scanned_at);
