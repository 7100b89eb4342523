-- requires: incidents/013, core/011
-- The incidents view's cost per row (issue 14: QGIS's first draw read 918 public incidents
-- in 1.7 s). Each row computed its deadlines four times over (deadline_at, closed_on_time,
-- accept_deadline_at and incident_due), each time looking up its rule and running
-- sla_deadline, a SQL function with a CTE that the planner cannot inline (0.15 ms a call).
-- Now the view looks its rule up once and computes each deadline once, in functions the
-- planner inlines; columns unused by a query (a count) are not computed at all. Free-text
-- scrubbing skips its queries when a text cannot hold what they look for. Same answers:
-- the functions of 007 keep their names and results for their other callers.

-- A deadline on the wall clock of ``zone``, as sla_deadline (007) computes it, in a single
-- expression without FROM or sub-query, so the planner inlines it. A valid rule in hours,
-- days, weeks or months (all incident_sla holds) is read as an interval, without the
-- regular-expression match (0.02 ms a call, most of a deadline's cost); working days and
-- rules sla_rule_problem refuses go the way 007 went.
CREATE FUNCTION gridgeo.sla_deadline(start timestamptz, rule text, zone text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN gridgeo.sla_rule_problem(rule) IS NULL
                     AND position('working' IN lower(rule)) = 0
                THEN (start AT TIME ZONE zone) + lower(rule)::interval
                WHEN (regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)'))[2] IS NOT NULL
                THEN gridgeo.add_working_days(start AT TIME ZONE zone,
                         (regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)'))[1]::integer)
                ELSE (start AT TIME ZONE zone)
                     + ((regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)'))[1] || ' '
                        || (regexp_match(lower(rule), '([0-9]+)\s+(working\s+)?(\w+)'))[3])::interval
           END AT TIME ZONE zone $$;

CREATE OR REPLACE FUNCTION gridgeo.sla_deadline(start timestamptz, rule text)
    RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT gridgeo.sla_deadline(start, rule, gridgeo.local_tz()) $$;

-- The pieces of the view, as set-returning SQL functions the planner inlines into it (a
-- LATERAL sub-query each): the case's rule (none: no row), ...
CREATE FUNCTION gridgeo.incident_sla_rule_of(colour text, grid_code text, category_code text)
    RETURNS TABLE (accept_within text, handle_within text)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.accept_within, s.handle_within FROM gridgeo.incident_sla s
     WHERE s.colour = $1
       AND (s.category_code IS NULL OR s.category_code = $3)
       AND (s.difficulty IS NULL
            OR s.difficulty = (SELECT g.difficulty FROM gridgeo.grids g WHERE g.code = $2))
     ORDER BY s.category_code IS NULL, s.difficulty IS NULL LIMIT 1 $$;

-- ... its two deadlines, computed once a row (OFFSET 0 keeps the planner from copying
-- them into every column that reads them) in the deployment's time zone, which the view
-- reads once a query (a column, not a sub-query: sla_deadline is inlined only then) ...
CREATE FUNCTION gridgeo.incident_deadlines_of(reported_at timestamptz, accepted_at timestamptz,
                                              accept_within text, handle_within text,
                                              zone text)
    RETURNS TABLE (accept_at timestamptz, handle_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT gridgeo.sla_deadline($1, $3, $5), gridgeo.sla_deadline($2, $4, $5) OFFSET 0 $$;

-- ... and the clock that runs now (as incident_due): acceptance until accepted, then
-- handling; none once final.
CREATE FUNCTION gridgeo.incident_running_clock(state text, reported_at timestamptz,
                                               accepted_at timestamptz, accept_at timestamptz,
                                               handle_at timestamptz)
    RETURNS TABLE (started_at timestamptz, due_at timestamptz)
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN NOT gridgeo.incident_state_is_final($1)
                THEN CASE WHEN $3 IS NULL THEN $2 ELSE $3 END END,
           CASE WHEN NOT gridgeo.incident_state_is_final($1)
                THEN CASE WHEN $3 IS NULL THEN $4 ELSE $5 END END $$;

-- Both halves as in core/011, the deadlines from the pieces above.
CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.title
            ELSE gridgeo.scrub_text(i.title) END AS title,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.description
            ELSE gridgeo.scrub_text(i.description) END AS description,
       i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       dl.handle_at AS deadline_at,
       coalesce(now() > due.due_at, false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time, i.closed_at <= dl.handle_at)
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_name END
           AS reporter_name,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_phone END
           AS reporter_phone,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_id_number END
           AS reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.state_note
            ELSE gridgeo.scrub_text(i.state_note) END AS state_note,
       i.verified_at, i.grid_worker_id, w.name AS grid_worker_name,
       w.work_phone AS grid_worker_phone,
       dl.accept_at AS accept_deadline_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false) AS near_due,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.colour_note
            ELSE gridgeo.scrub_text(i.colour_note) END AS colour_note,
       i.department_code, d.name AS department_name, i.assignee_staff_no,
       a.name AS assignee_name, i.cohandling_departments,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.dispatch_note
            ELSE gridgeo.scrub_text(i.dispatch_note) END AS dispatch_note,
       i.resolved_by, i.verified_by,
       c.police_response_target IS NOT NULL AS police_matter, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1) AS response_minutes,
       i.arrived_at - i.dispatched_at <= c.police_response_target AS responded_on_time,
       gridgeo.incident_escalation_level(i.id) AS escalation_level
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
 CROSS JOIN (SELECT gridgeo.local_tz() AS name OFFSET 0) zone
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_sla_rule_of(i.colour, i.grid_code, i.category_code) rule
         ON true
 CROSS JOIN LATERAL gridgeo.incident_deadlines_of(i.reported_at, i.accepted_at, rule.accept_within,
                                                  rule.handle_within, zone.name) dl
 CROSS JOIN LATERAL gridgeo.incident_running_clock(i.state, i.reported_at, i.accepted_at,
                                                   dl.accept_at, dl.handle_at) due
 WHERE (SELECT gridgeo.request_staff())
UNION ALL
-- The public half: deadlines, overdue, escalation and departments are about the case, not
-- a person, and stay; notes, staff numbers and names are NULL.
SELECT i.id, i.case_no, i.category_code, c.name_zh, c.class,
       c.name_zh, NULL::text,
       i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       dl.handle_at,
       coalesce(now() > due.due_at, false),
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time, i.closed_at <= dl.handle_at)
       END,
       i.agency_responsible, NULL::text, NULL::integer,
       NULL::text, NULL::text, NULL::text,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code,
       gridgeo.public_place(i.geom)::geometry(Point, 4490),
       NULL::text, i.verified_at, NULL::integer, NULL::text, NULL::text,
       dl.accept_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false),
       NULL::text,
       i.department_code, d.name, NULL::text,
       NULL::text, i.cohandling_departments,
       NULL::text,
       NULL::text, NULL::text,
       c.police_response_target IS NOT NULL, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1),
       i.arrived_at - i.dispatched_at <= c.police_response_target,
       gridgeo.incident_escalation_level(i.id)
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
 CROSS JOIN (SELECT gridgeo.local_tz() AS name OFFSET 0) zone
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN LATERAL gridgeo.incident_sla_rule_of(i.colour, i.grid_code, i.category_code) rule
         ON true
 CROSS JOIN LATERAL gridgeo.incident_deadlines_of(i.reported_at, i.accepted_at, rule.accept_within,
                                                  rule.handle_within, zone.name) dl
 CROSS JOIN LATERAL gridgeo.incident_running_clock(i.state, i.reported_at, i.accepted_at,
                                                   dl.accept_at, dl.handle_at) due
 WHERE NOT (SELECT gridgeo.request_staff());


-- Scrubbing as in core/011, without its two queries where they cannot find anything: the
-- ID-number search needs 17 digits in a row, the deployment's patterns a non-empty list.
CREATE OR REPLACE FUNCTION gridgeo.scrub_text(body text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result text := body;
    candidate text;
    pattern text;
    patterns text := coalesce(nullif(current_setting('gridgeo.scrub_patterns', true), ''), '[]');
BEGIN
    IF body IS NULL THEN
        RETURN NULL;
    END IF;
    IF result ~ '[0-9]' THEN
        IF result ~ '[0-9]{17}' THEN
            FOR candidate IN SELECT DISTINCT m[1] FROM regexp_matches(
                    result, '(?<![0-9])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])', 'g') AS m LOOP
                IF gridgeo.id_number_valid(candidate) THEN
                    result := replace(result, candidate, '[证件号已隐去]');
                END IF;
            END LOOP;
        END IF;
        -- mobiles: 1[3-9]x xxxx xxxx, with or without +86 and separators
        result := regexp_replace(result,
            '(?<![0-9])(\+?86[- ]?)?1[3-9][0-9]([- ]?[0-9]{4}){2}(?![0-9])',
            '[电话已隐去]', 'g');
        -- landlines: a 3-4 digit area code (in brackets or not) and 7-8 digits
        result := regexp_replace(result,
            '(?<![0-9])(\(0[0-9]{2,3}\)|（0[0-9]{2,3}）|0[0-9]{2,3}[- ]?)[0-9]{7,8}(?![0-9])',
            '[电话已隐去]', 'g');
    END IF;
    IF patterns <> '[]' THEN
        FOR pattern IN SELECT jsonb_array_elements_text(patterns::jsonb) LOOP
            result := regexp_replace(result, pattern, '[已隐去]', 'g');
        END LOOP;
    END IF;
    RETURN result;
END $$;
