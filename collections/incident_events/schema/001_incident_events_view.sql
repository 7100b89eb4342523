-- requires: incidents/002
-- The audit log itself is created with the state machine (incidents/002); this serves it,
-- placed at its incident so it can be filtered by area like any other collection.
CREATE VIEW gridgeo.incident_events_view AS
SELECT e.id, e.incident_id, e.case_no, e.from_state, e.to_state, e.actor, e.note, e.at,
       i.category_code, i.colour, i.grid_code, i.geom
  FROM gridgeo.incident_events e
  JOIN gridgeo.incidents i ON i.id = e.incident_id;
