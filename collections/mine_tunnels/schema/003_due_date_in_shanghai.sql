-- requires: mine_tunnels/002
-- The due date is a date in Asia/Shanghai whatever the client's session time zone (psql
-- or QGIS in UTC saw another day), computed as mine_tunnels_due_on does.
CREATE OR REPLACE VIEW gridgeo.mine_tunnels_view AS
SELECT t.id, t.adit_no, t.name, t.mineral, t.seal_method, t.sealed_on, t.status,
       t.patrol_frequency_days, t.last_inspected_at,
       coalesce((t.last_inspected_at AT TIME ZONE 'Asia/Shanghai')::date, t.sealed_on)
            + t.patrol_frequency_days AS inspection_due_on,
       t.responsible_unit, t.elevation_m, t.slope_deg, t.grid_code, t.dedicated_grid_code,
       gridgeo.qr_url('k', t.adit_no) AS qr_payload, t.geom,
       grid.name AS grid_name, workers.names AS grid_worker_names,
       workers.phones AS grid_worker_phones
  FROM gridgeo.mine_tunnels t
  LEFT JOIN gridgeo.grids grid ON grid.code = t.grid_code
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.grid_assignments ga JOIN gridgeo.staff s ON s.id = ga.staff_id
         WHERE ga.grid_code = t.grid_code AND ga.role = 'worker' AND s.active) workers ON true;
