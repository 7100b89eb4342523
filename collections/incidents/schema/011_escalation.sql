-- requires: incidents/010
-- Escalation (督办), run by the scheduler's sweep: a warning to whoever holds the case when
-- the warning share of its running clock has passed, and when it is overdue an escalation
-- one level up the ladder (grid leader → village → town → county department), again each
-- 'escalation_every' while it stays overdue. Each is recorded once (the primary key) and as
-- an event of the incident with who was told.
INSERT INTO gridgeo.deployment (key, value) VALUES ('escalation_every', '1 day')
    ON CONFLICT (key) DO NOTHING;

CREATE TABLE gridgeo.incident_escalations (
    incident_id integer NOT NULL REFERENCES gridgeo.incidents (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('warning', 'escalation')),
    level       integer NOT NULL CHECK (level BETWEEN 0 AND 4),  -- 0: the case's holder
    due_at      timestamptz NOT NULL,  -- the deadline it is about
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    told        jsonb NOT NULL,
    PRIMARY KEY (incident_id, kind, level, due_at)
);

CREATE FUNCTION gridgeo.escalation_level_name(level integer) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ARRAY['holder', 'grid_leader', 'village', 'town', 'county_department'])[level + 1] $$;

-- Who is told at a level: staff (staff_no, name) or departments (department_code, name).
CREATE FUNCTION gridgeo.escalation_recipients(incident integer, level integer) RETURNS jsonb
    LANGUAGE sql STABLE AS $$
    WITH i AS (SELECT * FROM gridgeo.incidents WHERE id = incident),
    people AS (
        SELECT s.staff_no AS code, s.name FROM i, gridgeo.staff s
         WHERE level = 0 AND s.active AND (s.id = i.grid_worker_id
                                          OR s.staff_no = i.assignee_staff_no)
        UNION
        SELECT s.staff_no, s.name FROM i
          JOIN gridgeo.grid_assignments a ON a.grid_code IN (i.grid_code, left(i.grid_code, 12))
          JOIN gridgeo.staff s ON s.id = a.staff_id
         WHERE level = 1 AND a.role = 'leader' AND s.active),
    offices AS (
        SELECT d.code, d.name FROM i, gridgeo.departments d
         WHERE (level = 2 AND d.code = left(i.grid_code, 12))
            OR (level = 3 AND d.code = left(i.grid_code, 9))
            OR (level = 0 AND d.code = i.department_code)
        UNION ALL
        -- The county department the case went to, else the county's first (its
        -- supervision office, 督查, in most counties).
        (SELECT d.code, d.name FROM i, gridgeo.departments d
          WHERE level = 4 AND d.kind = 'county_department'
          ORDER BY d.code = i.department_code DESC, d.code LIMIT 1))
    SELECT coalesce(jsonb_agg(r ORDER BY r.kind, r.code), '[]')
      FROM (SELECT 'staff' AS kind, code, name FROM people
            UNION ALL SELECT 'department', code, name FROM offices) r $$;

CREATE FUNCTION gridgeo.incident_escalation_sweep() RETURNS text
    LANGUAGE plpgsql AS $$
DECLARE
    every interval := coalesce((SELECT value::interval FROM gridgeo.deployment
                                 WHERE key = 'escalation_every'), interval '1 day');
    warned integer;
    escalated integer;
BEGIN
    WITH fresh AS (
        INSERT INTO gridgeo.incident_escalations (incident_id, kind, level, due_at, told)
        SELECT v.id, 'warning', 0, v.due_at, gridgeo.escalation_recipients(v.id, 0)
          FROM gridgeo.incidents_view v WHERE v.near_due
        ON CONFLICT DO NOTHING RETURNING *)
    INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor,
                                         note, kind, detail)
    SELECT f.incident_id, i.case_no, i.state, i.state, 'scheduler',
           format('临期预警：%s 到期', to_char(f.due_at AT TIME ZONE gridgeo.local_tz(),
                                               'YYYY-MM-DD HH24:MI')),
           'warning', jsonb_build_object('level', 0, 'due_at', f.due_at, 'told', f.told)
      FROM fresh f JOIN gridgeo.incidents i ON i.id = f.incident_id;
    GET DIAGNOSTICS warned = ROW_COUNT;

    WITH last AS (
        SELECT incident_id, max(level) AS level, max(at) AS at
          FROM gridgeo.incident_escalations WHERE kind = 'escalation' GROUP BY incident_id),
    due AS (
        SELECT v.id, v.due_at, coalesce(l.level, 0) + 1 AS level
          FROM gridgeo.incidents_view v LEFT JOIN last l ON l.incident_id = v.id
         WHERE v.overdue AND (l.incident_id IS NULL
                             OR (l.level < 4 AND l.at < clock_timestamp() - every))),
    fresh AS (
        INSERT INTO gridgeo.incident_escalations (incident_id, kind, level, due_at, told)
        SELECT id, 'escalation', level, due_at, gridgeo.escalation_recipients(id, level)
          FROM due ON CONFLICT DO NOTHING RETURNING *)
    INSERT INTO gridgeo.incident_events (incident_id, case_no, from_state, to_state, actor,
                                         note, kind, detail)
    SELECT f.incident_id, i.case_no, i.state, i.state, 'scheduler',
           format('超期督办：升级至%s', gridgeo.escalation_level_name(f.level)),
           'escalation', jsonb_build_object('level', f.level, 'to',
               gridgeo.escalation_level_name(f.level), 'due_at', f.due_at, 'told', f.told)
      FROM fresh f JOIN gridgeo.incidents i ON i.id = f.incident_id;
    GET DIAGNOSTICS escalated = ROW_COUNT;
    RETURN format('%s warned, %s escalated', warned, escalated);
END $$;

-- The view shows the level a case has been escalated to (0: not escalated).
CREATE FUNCTION gridgeo.incident_escalation_level(incident integer) RETURNS integer
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(max(level), 0) FROM gridgeo.incident_escalations
     WHERE incident_id = incident AND kind = 'escalation' $$;

CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       i.title, i.description, i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       gridgeo.incident_handle_deadline(i.accepted_at, i.colour, i.grid_code,
                                        i.category_code) AS deadline_at,
       coalesce(now() > due.due_at, false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time,
                i.closed_at <= gridgeo.incident_handle_deadline(i.accepted_at, i.colour,
                                                                i.grid_code, i.category_code))
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       i.reporter_name, i.reporter_phone, i.reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom,
       i.state_note, i.verified_at, i.grid_worker_id, w.name AS grid_worker_name,
       w.work_phone AS grid_worker_phone,
       gridgeo.incident_accept_deadline(i.reported_at, i.colour, i.grid_code,
                                        i.category_code) AS accept_deadline_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false) AS near_due,
       i.colour_note,
       i.department_code, d.name AS department_name, i.assignee_staff_no,
       a.name AS assignee_name, i.cohandling_departments, i.dispatch_note,
       i.resolved_by, i.verified_by,
       c.police_response_target IS NOT NULL AS police_matter, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1) AS response_minutes,
       i.arrived_at - i.dispatched_at <= c.police_response_target AS responded_on_time,
       gridgeo.incident_escalation_level(i.id) AS escalation_level
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true;
