-- requires: incidents/014
-- incidents_view as one SELECT instead of a staff half UNION ALL a public half (core/011).
-- PostgreSQL pulls a UNION ALL arm up into its parent only when the arm reads a single
-- relation; both halves joined categories, staff, departments and the deadline laterals,
-- so each stayed a sub-query and a page's ORDER BY id LIMIT n never reached
-- incidents_pkey: every row of the view was computed before the sort (5.3 s for a page
-- at 200,000 incidents). Now what the public half withheld is a CASE on the same
-- (SELECT gridgeo.request_staff()) the halves were chosen by, column for column: for the
-- public the title is the category's name, the place the 1 km cell, and notes, staff,
-- reporters and addresses are NULL, exactly as before.

CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       CASE WHEN NOT (SELECT gridgeo.request_staff()) THEN c.name_zh
            WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.title
            ELSE gridgeo.scrub_text(i.title) END AS title,
       CASE WHEN NOT (SELECT gridgeo.request_staff()) THEN NULL
            WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.description
            ELSE gridgeo.scrub_text(i.description) END AS description,
       i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       dl.handle_at AS deadline_at,
       coalesce(now() > due.due_at, false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time, i.closed_at <= dl.handle_at)
       END AS closed_on_time,
       i.agency_responsible,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.address_text END AS address_text,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.address_id END AS address_id,
       CASE WHEN (SELECT gridgeo.request_staff()) AND (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_name END
           AS reporter_name,
       CASE WHEN (SELECT gridgeo.request_staff()) AND (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_phone END
           AS reporter_phone,
       CASE WHEN (SELECT gridgeo.request_staff()) AND (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_id_number END
           AS reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code,
       (CASE WHEN (SELECT gridgeo.request_staff()) THEN i.geom
             ELSE gridgeo.public_place(i.geom) END)::geometry(Point, 4490) AS geom,
       CASE WHEN NOT (SELECT gridgeo.request_staff()) THEN NULL
            WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.state_note
            ELSE gridgeo.scrub_text(i.state_note) END AS state_note,
       i.verified_at,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.grid_worker_id END AS grid_worker_id,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN w.name END AS grid_worker_name,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN w.work_phone END AS grid_worker_phone,
       dl.accept_at AS accept_deadline_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false) AS near_due,
       CASE WHEN NOT (SELECT gridgeo.request_staff()) THEN NULL
            WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.colour_note
            ELSE gridgeo.scrub_text(i.colour_note) END AS colour_note,
       i.department_code, d.name AS department_name,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.assignee_staff_no END AS assignee_staff_no,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN a.name END AS assignee_name, i.cohandling_departments,
       CASE WHEN NOT (SELECT gridgeo.request_staff()) THEN NULL
            WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.dispatch_note
            ELSE gridgeo.scrub_text(i.dispatch_note) END AS dispatch_note,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.resolved_by END AS resolved_by,
       CASE WHEN (SELECT gridgeo.request_staff()) THEN i.verified_by END AS verified_by,
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
                                                   dl.accept_at, dl.handle_at) due;
