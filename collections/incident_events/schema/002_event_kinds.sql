-- requires: incident_events/001, incidents/007
-- Events of other kinds than state changes (colour, dispatch, reassign, escalation, …) with
-- their details; the view keeps its columns and adds these at the end.
CREATE OR REPLACE VIEW gridgeo.incident_events_view AS
SELECT e.id, e.incident_id, e.case_no, e.from_state, e.to_state, e.actor, e.note, e.at,
       i.category_code, i.colour, i.grid_code, i.geom, e.kind, e.detail
  FROM gridgeo.incident_events e
  JOIN gridgeo.incidents i ON i.id = e.incident_id;
