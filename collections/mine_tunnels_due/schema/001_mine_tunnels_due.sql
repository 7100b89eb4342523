-- requires: mine_tunnels/001
-- An adit is due when its last inspection (or, never inspected, its sealing day) plus its
-- patrol frequency is on or before the given day; days are Shanghai calendar days.
CREATE FUNCTION gridgeo.mine_tunnels_due_on(day date)
    RETURNS TABLE (id integer, adit_no text, name text, status text,
                   patrol_frequency_days integer, last_inspected_at timestamptz,
                   inspection_due_on date, days_overdue integer, responsible_unit text,
                   grid_code text, dedicated_grid_code text, qr_payload text,
                   geom geometry(Point, 4490))
    LANGUAGE sql STABLE AS $$
    SELECT t.id, t.adit_no, t.name, t.status, t.patrol_frequency_days, t.last_inspected_at,
           d.due, day - d.due, t.responsible_unit, t.grid_code, t.dedicated_grid_code,
           gridgeo.qr_url('k', t.adit_no), t.geom
      FROM gridgeo.mine_tunnels t
     CROSS JOIN LATERAL (SELECT coalesce((t.last_inspected_at AT TIME ZONE 'Asia/Shanghai')::date,
                                         t.sealed_on) + t.patrol_frequency_days AS due) d
     WHERE d.due <= day
     ORDER BY d.due, t.adit_no $$;

CREATE VIEW gridgeo.mine_tunnels_due AS
SELECT * FROM gridgeo.mine_tunnels_due_on((now() AT TIME ZONE 'Asia/Shanghai')::date);
