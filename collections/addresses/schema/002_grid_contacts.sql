-- requires: grids/001
-- A door plate's QR code leads here: the address, its grid and whom to call. Grid workers'
-- names and work phones are public contact data (printed on plates and notice boards).
-- CREATE OR REPLACE VIEW keeps every existing column and adds the new ones at the end.
CREATE OR REPLACE VIEW gridgeo.addresses_view AS
SELECT a.id, a.address_code, a.province, a.city, a.county, a.township, a.village,
       a.village_code, a.road, a.house_number, a.building, a.unit, a.room, a.full_address,
       a.grid_code, a.dedicated_grid_code, gridgeo.qr_url('a', a.address_code) AS qr_payload,
       a.geom,
       g.name AS grid_name, workers.names AS grid_worker_names,
       workers.phones AS grid_worker_phones
  FROM gridgeo.addresses a
  LEFT JOIN gridgeo.grids g ON g.code = a.grid_code
  LEFT JOIN LATERAL (
        SELECT string_agg(s.name, '、' ORDER BY s.id) AS names,
               string_agg(s.work_phone, '、' ORDER BY s.id) AS phones
          FROM gridgeo.grid_assignments ga JOIN gridgeo.staff s ON s.id = ga.staff_id
         WHERE ga.grid_code = a.grid_code AND ga.role = 'worker' AND s.active) workers ON true;
