-- requires: incident_events/002, incidents/012, core/013
-- The incidents' event history, partitioned by month on ``at`` (core/013): primary key
-- (id, at). Nothing references an event; its foreign key to incidents stays (the
-- referencing side may be partitioned); incident_events_view is made again as it was.
SELECT gridgeo.partition_by_month('incident_events', 'at');
SELECT gridgeo.grant_editors();
