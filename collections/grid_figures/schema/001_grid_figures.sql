-- requires: core/012, incidents/011, inspections/003, greenhouses/001, mine_tunnels/004, patrol_routes/001, grids/003
-- 考核: figures per unit grid for a period of local calendar days (first_day to last_day,
-- both included, in gridgeo.local_tz()): greenhouse scan coverage, adit inspections made
-- on time, incidents reported and resolved on time, patrol distance.

-- The scans the figures count, with the grid of their target and whether an adit's
-- inspection came on time: on or before the day its previous inspection (or, never
-- inspected before, its sealing day) plus its patrol frequency made it due.
-- Inspections are staff-only rows (each a worker's position at a time), but what this
-- returns carries no position and no time, only which target was scanned in the period
-- and by whom: it reads them as a trusted path for the length of its one query, then
-- restores the caller's setting. The collections built on it decide who reads per-worker
-- rows (worker_figures is not public).
CREATE FUNCTION gridgeo.figures_scans(first_day date, last_day date)
    RETURNS TABLE (grid_code text, inspector_id integer, target_collection text,
                   target_code text, on_time boolean)
    LANGUAGE plpgsql AS $f$
#variable_conflict use_column
DECLARE
    caller text := coalesce(current_setting('gridgeo.maintenance', true), '');
BEGIN
    PERFORM set_config('gridgeo.maintenance', 'on', true);
    RETURN QUERY
    WITH bounds AS (
        SELECT (first_day::timestamp AT TIME ZONE gridgeo.local_tz()) AS since,
               ((last_day + 1)::timestamp AT TIME ZONE gridgeo.local_tz()) AS until),
    adit_scans AS (
        SELECT t.grid_code, i.inspector_id, t.adit_no, i.scanned_at,
               (i.scanned_at AT TIME ZONE gridgeo.local_tz())::date <= coalesce(
                   (lag(i.scanned_at) OVER (PARTITION BY t.id ORDER BY i.scanned_at, i.id)
                        AT TIME ZONE gridgeo.local_tz())::date,
                   t.sealed_on) + t.patrol_frequency_days AS on_time
          FROM gridgeo.inspections i
          JOIN gridgeo.mine_tunnels t ON t.adit_no = i.target_code
         WHERE i.target_collection = 'mine_tunnels'
           AND i.scanned_at < (SELECT until FROM bounds))
    SELECT a.grid_code, a.inspector_id, 'mine_tunnels'::text, a.adit_no, a.on_time
      FROM adit_scans a
     WHERE a.scanned_at >= (SELECT since FROM bounds)
    UNION ALL
    SELECT g.grid_code, i.inspector_id, 'greenhouses'::text, g.gh_no, NULL::boolean
      FROM gridgeo.inspections i
      JOIN gridgeo.greenhouses g ON g.gh_no = i.target_code
     WHERE i.target_collection = 'greenhouses' AND g.status <> 'demolished'
       AND i.scanned_at >= (SELECT since FROM bounds)
       AND i.scanned_at < (SELECT until FROM bounds);
    PERFORM set_config('gridgeo.maintenance', caller, true);
EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('gridgeo.maintenance', caller, true);
    RAISE;
END $f$;

-- Incidents are counted as the caller reads them (row-level security applies: the
-- public does not count sensitive categories, a grid worker counts its own grids).
-- reporter_staff_no: who filed the case (its first event), for the per-worker figures.
CREATE FUNCTION gridgeo.figures_incidents(first_day date, last_day date)
    RETURNS TABLE (grid_code text, reported boolean, resolved boolean, resolved_on_time boolean,
                   reporter_staff_no text, resolved_by text)
    LANGUAGE sql STABLE AS $$
    WITH bounds AS (
        SELECT (first_day::timestamp AT TIME ZONE gridgeo.local_tz()) AS since,
               ((last_day + 1)::timestamp AT TIME ZONE gridgeo.local_tz()) AS until)
    SELECT i.grid_code,
           i.reported_at >= b.since AND i.reported_at < b.until,
           coalesce(i.resolved_at >= b.since AND i.resolved_at < b.until, false),
           coalesce(i.resolved_at >= b.since AND i.resolved_at < b.until
                    AND i.resolved_at <= gridgeo.incident_handle_deadline(
                        i.accepted_at, i.colour, i.grid_code, i.category_code), false),
           (SELECT e.staff_no FROM gridgeo.incident_events e WHERE e.incident_id = i.id
             ORDER BY e.at, e.id LIMIT 1),
           i.resolved_by
      FROM gridgeo.incidents i, bounds b
     WHERE i.grid_code IS NOT NULL
       AND ((i.reported_at >= b.since AND i.reported_at < b.until)
            OR (i.resolved_at >= b.since AND i.resolved_at < b.until)) $$;

-- Planned patrol routes of the period, cut to each unit grid they cross (km).
CREATE FUNCTION gridgeo.figures_patrols(first_day date, last_day date)
    RETURNS TABLE (grid_code text, assignee_id integer, km double precision)
    LANGUAGE sql STABLE AS $$
    SELECT g.code, r.assignee_id,
           ST_Length(ST_Intersection(r.geom, g.geom)::geography) / 1000.0
      FROM gridgeo.patrol_routes r
      JOIN gridgeo.grids g ON g.geom && r.geom AND ST_Intersects(g.geom, r.geom)
     WHERE g.level = 'unit' AND g.kind = 'basic'
       AND r.patrol_date BETWEEN first_day AND last_day $$;

CREATE FUNCTION gridgeo.grid_figures_for(first_day date, last_day date)
    RETURNS TABLE (id integer, code text, name text, period_start date, period_end date,
                   greenhouses integer, greenhouses_scanned integer,
                   greenhouse_coverage numeric, adit_inspections integer,
                   adit_inspections_on_time integer, incidents_reported integer,
                   incidents_resolved integer, incidents_resolved_on_time integer,
                   patrol_km numeric, geom geometry(MultiPolygon, 4490))
    LANGUAGE sql STABLE AS $$
    WITH scans AS (SELECT * FROM gridgeo.figures_scans(first_day, last_day)),
    cases AS (SELECT * FROM gridgeo.figures_incidents(first_day, last_day)),
    patrols AS (SELECT * FROM gridgeo.figures_patrols(first_day, last_day))
    SELECT g.id, g.code, g.name, first_day, last_day, gh.total, gs.scanned,
           round(100.0 * gs.scanned / nullif(gh.total, 0), 1),
           ad.inspections, ad.on_time, ic.reported, ic.resolved, ic.on_time,
           round(coalesce(pt.km, 0)::numeric, 2), g.geom
      FROM gridgeo.grids g
     CROSS JOIN LATERAL (SELECT count(*)::integer AS total FROM gridgeo.greenhouses h
                          WHERE h.grid_code = g.code AND h.status <> 'demolished') gh
     CROSS JOIN LATERAL (SELECT count(DISTINCT s.target_code)::integer AS scanned FROM scans s
                          WHERE s.grid_code = g.code
                            AND s.target_collection = 'greenhouses') gs
     CROSS JOIN LATERAL (SELECT count(*)::integer AS inspections,
                                count(*) FILTER (WHERE s.on_time)::integer AS on_time
                           FROM scans s WHERE s.grid_code = g.code
                            AND s.target_collection = 'mine_tunnels') ad
     CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE c.reported)::integer AS reported,
                                count(*) FILTER (WHERE c.resolved)::integer AS resolved,
                                count(*) FILTER (WHERE c.resolved_on_time)::integer AS on_time
                           FROM cases c WHERE c.grid_code = g.code) ic
     CROSS JOIN LATERAL (SELECT sum(p.km) AS km FROM patrols p WHERE p.grid_code = g.code) pt
     WHERE g.level = 'unit' AND g.kind = 'basic' $$;

-- This month in the deployment's time zone (the default period of 考核).
CREATE FUNCTION gridgeo.figures_this_month() RETURNS TABLE (first_day date, last_day date)
    LANGUAGE sql STABLE AS $$
    SELECT d, (d + interval '1 month - 1 day')::date
      FROM (SELECT date_trunc('month', now() AT TIME ZONE gridgeo.local_tz())::date AS d) m $$;

CREATE VIEW gridgeo.grid_figures AS
SELECT f.* FROM gridgeo.figures_this_month() m, gridgeo.grid_figures_for(m.first_day, m.last_day) f;

INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('grid_figures', 'read')
    ON CONFLICT (relation) DO NOTHING;
SELECT gridgeo.grant_editors();
