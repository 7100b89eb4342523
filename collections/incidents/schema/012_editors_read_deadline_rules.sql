-- requires: incidents/011, core/010
-- The incidents view computes deadlines, colours and escalation levels with functions that
-- read these tables as the caller, so QGIS editors (who read incidents_view) need them
-- too; they hold rules and calendars, no personal data.
INSERT INTO gridgeo.editor_grants (relation, mode)
VALUES ('calendar_days', 'read'), ('incident_sla', 'read'), ('incident_difficulty_colour', 'read'),
       ('incident_authorities', 'read'), ('incident_category_cohandlers', 'read'),
       ('incident_escalations', 'read')
ON CONFLICT (relation) DO NOTHING;

SELECT gridgeo.grant_editors();
