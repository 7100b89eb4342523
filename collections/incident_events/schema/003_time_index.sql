-- requires: incident_events/002, core/015
-- A datetime page without sortby is read in time order (gridgeo/provider/query.py): each
-- month's partition needs its events in time order, or a month's page sorted every event
-- of that month (171 ms at 10 million incidents, scripts/bench_scale.py).
CREATE INDEX incident_events_at_idx ON gridgeo.incident_events (at);
