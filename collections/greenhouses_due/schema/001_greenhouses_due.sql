-- requires: greenhouses/001
-- Greenhouses are scanned every month (扫码巡视): due = not scanned in the calendar month
-- of the given day, counted in Shanghai time. Demolished ones are no longer patrolled.
CREATE FUNCTION gridgeo.greenhouses_due_on(day date)
    RETURNS TABLE (id integer, gh_no text, use text, status text,
                   last_scanned_at timestamptz, grid_code text, dedicated_grid_code text,
                   qr_payload text, geom geometry(Polygon, 4490))
    LANGUAGE sql STABLE AS $$
    SELECT g.id, g.gh_no, g.use, g.status, g.last_scanned_at, g.grid_code,
           g.dedicated_grid_code, gridgeo.qr_url('g', g.gh_no), g.geom
      FROM gridgeo.greenhouses g
     WHERE g.status <> 'demolished'
       AND (g.last_scanned_at IS NULL
            OR (g.last_scanned_at AT TIME ZONE 'Asia/Shanghai') < date_trunc('month', day))
     ORDER BY g.gh_no $$;

CREATE VIEW gridgeo.greenhouses_due AS
SELECT * FROM gridgeo.greenhouses_due_on((now() AT TIME ZONE 'Asia/Shanghai')::date);
