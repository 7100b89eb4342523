-- requires: grid_figures/001
-- 考核 per grid worker: one row per unit grid and worker assigned to it, with the grid's
-- outline, for a period of local calendar days. A worker's figures in a grid are what
-- they did there: greenhouses they scanned (coverage against the grid's greenhouses),
-- adit inspections they made and how many on time, incidents they filed (the case's
-- first event names them) and resolved on time, and their planned patrol routes' length
-- inside the grid. Worker identity is personal data: the collection is not public.
CREATE FUNCTION gridgeo.worker_figures_for(first_day date, last_day date)
    RETURNS TABLE (id text, grid_code text, grid_name text, staff_no text, worker_name text,
                   period_start date, period_end date, greenhouses integer,
                   greenhouses_scanned integer, greenhouse_coverage numeric,
                   adit_inspections integer, adit_inspections_on_time integer,
                   incidents_reported integer, incidents_resolved integer,
                   incidents_resolved_on_time integer, patrol_km numeric,
                   geom geometry(MultiPolygon, 4490))
    LANGUAGE sql STABLE AS $$
    WITH scans AS (SELECT * FROM gridgeo.figures_scans(first_day, last_day)),
    cases AS (SELECT * FROM gridgeo.figures_incidents(first_day, last_day)),
    patrols AS (SELECT * FROM gridgeo.figures_patrols(first_day, last_day))
    SELECT g.code || '-' || s.staff_no, g.code, g.name, s.staff_no, s.name, first_day,
           last_day, gh.total, gs.scanned, round(100.0 * gs.scanned / nullif(gh.total, 0), 1),
           ad.inspections, ad.on_time, ic.reported, ic.resolved, ic.on_time,
           round(coalesce(pt.km, 0)::numeric, 2), g.geom
      FROM gridgeo.grid_assignments a
      JOIN gridgeo.grids g ON g.code = a.grid_code AND g.level = 'unit' AND g.kind = 'basic'
      JOIN gridgeo.staff s ON s.id = a.staff_id AND s.active
     CROSS JOIN LATERAL (SELECT count(*)::integer AS total FROM gridgeo.greenhouses h
                          WHERE h.grid_code = g.code AND h.status <> 'demolished') gh
     CROSS JOIN LATERAL (SELECT count(DISTINCT x.target_code)::integer AS scanned FROM scans x
                          WHERE x.grid_code = g.code AND x.inspector_id = s.id
                            AND x.target_collection = 'greenhouses') gs
     CROSS JOIN LATERAL (SELECT count(*)::integer AS inspections,
                                count(*) FILTER (WHERE x.on_time)::integer AS on_time
                           FROM scans x WHERE x.grid_code = g.code AND x.inspector_id = s.id
                            AND x.target_collection = 'mine_tunnels') ad
     CROSS JOIN LATERAL (
         SELECT count(*) FILTER (WHERE c.reported AND c.reporter_staff_no = s.staff_no)::integer
                    AS reported,
                count(*) FILTER (WHERE c.resolved AND c.resolved_by = s.staff_no)::integer
                    AS resolved,
                count(*) FILTER (WHERE c.resolved_on_time AND c.resolved_by = s.staff_no)::integer
                    AS on_time
           FROM cases c WHERE c.grid_code = g.code) ic
     CROSS JOIN LATERAL (SELECT sum(p.km) AS km FROM patrols p
                          WHERE p.grid_code = g.code AND p.assignee_id = s.id) pt
     WHERE a.role = 'worker' $$;

CREATE VIEW gridgeo.worker_figures AS
SELECT f.* FROM gridgeo.figures_this_month() m, gridgeo.worker_figures_for(m.first_day, m.last_day) f;

INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('worker_figures', 'read')
    ON CONFLICT (relation) DO NOTHING;
SELECT gridgeo.grant_editors();
