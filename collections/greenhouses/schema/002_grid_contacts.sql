-- requires: grids/001
-- A greenhouse's QR code leads to its page: show its grid and whom to call there (grid
-- workers' names and work phones are public contact data). Existing columns unchanged.
CREATE OR REPLACE VIEW gridgeo.greenhouses_view AS
SELECT g.id, g.gh_no, g.operator_name, g.operator_phone, g.operator_id_number, g.use,
       g.status, g.built_year, round(g.area_m2::numeric, 1)::double precision AS area_m2,
       g.last_scanned_at, g.grid_code, g.dedicated_grid_code,
       gridgeo.qr_url('g', g.gh_no) AS qr_payload, g.geom,
       grid.name AS grid_name, workers.names AS grid_worker_names,
       workers.phones AS grid_worker_phones
  FROM gridgeo.greenhouses g
  LEFT JOIN gridgeo.grids grid ON grid.code = g.grid_code
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.grid_assignments ga JOIN gridgeo.staff s ON s.id = ga.staff_id
         WHERE ga.grid_code = g.grid_code AND ga.role = 'worker' AND s.active) workers ON true;
