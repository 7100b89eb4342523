-- The parks' own numbers, printed in their QR codes (/q/p/<park_no>), and the view served
-- with each park's QR payload.
ALTER TABLE gridgeo.example_parks ADD COLUMN park_no text UNIQUE;
UPDATE gridgeo.example_parks SET park_no = 'P' || lpad(id::text, 3, '0');
CREATE VIEW gridgeo.example_parks_view AS
SELECT p.id, p.park_no, p.name, p.grid_code, p.dedicated_grid_code,
       gridgeo.qr_url('p', p.park_no) AS qr_payload, p.geom
  FROM gridgeo.example_parks p;
