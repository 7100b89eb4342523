-- requires: core/004, inspections/002, mine_tunnels/003, mine_tunnels_due/001, greenhouses_due/001
-- The deployment's time zone (an IANA name) instead of Asia/Shanghai written into every
-- function: a deployment outside China counts its days, due lists and scan times on its
-- own wall clock. Python reads the same setting (gridgeo.timezone).
INSERT INTO gridgeo.deployment (key, value) VALUES ('time_zone', 'Asia/Shanghai')
    ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION gridgeo.local_tz() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce((SELECT value FROM gridgeo.deployment WHERE key = 'time_zone'),
                          'Asia/Shanghai') $$;

-- A time zone PostgreSQL does not know would break every due list: refused on write.
CREATE FUNCTION gridgeo.deployment_check_time_zone() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key = 'time_zone' AND NOT EXISTS (SELECT FROM pg_timezone_names
                                              WHERE name = NEW.value) THEN
        RAISE EXCEPTION 'time_zone % is not a time zone name PostgreSQL knows; write it as '
            'Region/City, e.g. Asia/Shanghai or America/Phoenix.', NEW.value
            USING ERRCODE = 'GG400';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER deployment_check_time_zone BEFORE INSERT OR UPDATE ON gridgeo.deployment
    FOR EACH ROW EXECUTE FUNCTION gridgeo.deployment_check_time_zone();

-- Due lists (mine_tunnels_due/001, greenhouses_due/001): days of the local calendar.
CREATE OR REPLACE FUNCTION gridgeo.mine_tunnels_due_on(day date)
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
     CROSS JOIN LATERAL (SELECT coalesce((t.last_inspected_at AT TIME ZONE gridgeo.local_tz())::date,
                                         t.sealed_on) + t.patrol_frequency_days AS due) d
     WHERE d.due <= day
     ORDER BY d.due, t.adit_no $$;

CREATE OR REPLACE VIEW gridgeo.mine_tunnels_due AS
SELECT * FROM gridgeo.mine_tunnels_due_on((now() AT TIME ZONE gridgeo.local_tz())::date);

CREATE OR REPLACE FUNCTION gridgeo.greenhouses_due_on(day date)
    RETURNS TABLE (id integer, gh_no text, use text, status text,
                   last_scanned_at timestamptz, grid_code text, dedicated_grid_code text,
                   qr_payload text, geom geometry(Polygon, 4490))
    LANGUAGE sql STABLE AS $$
    SELECT g.id, g.gh_no, g.use, g.status, g.last_scanned_at, g.grid_code,
           g.dedicated_grid_code, gridgeo.qr_url('g', g.gh_no), g.geom
      FROM gridgeo.greenhouses g
     WHERE g.status <> 'demolished'
       AND (g.last_scanned_at IS NULL
            OR (g.last_scanned_at AT TIME ZONE gridgeo.local_tz()) < date_trunc('month', day))
     ORDER BY g.gh_no $$;

CREATE OR REPLACE VIEW gridgeo.greenhouses_due AS
SELECT * FROM gridgeo.greenhouses_due_on((now() AT TIME ZONE gridgeo.local_tz())::date);

-- The adit's due date in its view (mine_tunnels/003).
CREATE OR REPLACE VIEW gridgeo.mine_tunnels_view AS
SELECT t.id, t.adit_no, t.name, t.mineral, t.seal_method, t.sealed_on, t.status,
       t.patrol_frequency_days, t.last_inspected_at,
       coalesce((t.last_inspected_at AT TIME ZONE gridgeo.local_tz())::date, t.sealed_on)
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

-- Scan checks (inspections/002): the neighbouring scan's time in local time.
CREATE OR REPLACE FUNCTION gridgeo.inspections_check_scan() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    target record;
    radius gridgeo.scan_radii;
    allowed double precision;
    choices text;
    neighbour record;
    max_kmh double precision := (SELECT value::double precision FROM gridgeo.deployment
                                  WHERE key = 'scan_max_speed_kmh');
    kmh double precision;
BEGIN
    NEW.received_at := coalesce(NEW.received_at, now());
    IF NEW.scanned_at > NEW.received_at + interval '5 minutes' THEN
        RAISE EXCEPTION 'scanned_at % lies in the future (the server received it at %); check '
            'the device clock.', NEW.scanned_at, NEW.received_at USING ERRCODE = 'GG400';
    END IF;
    SELECT * INTO target FROM gridgeo.scan_target(NEW.target_collection, NEW.target_code);
    IF target.id IS NULL THEN
        RAISE EXCEPTION 'no % item has the code %.', NEW.target_collection, NEW.target_code
            USING ERRCODE = 'GG400';
    END IF;
    IF NOT EXISTS (SELECT FROM gridgeo.scan_results
                    WHERE target_collection = NEW.target_collection AND result = NEW.result) THEN
        SELECT string_agg(result, ', ' ORDER BY result) INTO choices FROM gridgeo.scan_results
         WHERE target_collection = NEW.target_collection;
        RAISE EXCEPTION 'result % is not one for %; use one of: %.', NEW.result,
            NEW.target_collection, choices USING ERRCODE = 'GG400';
    END IF;
    IF NEW.geom IS NULL THEN
        RAISE EXCEPTION 'a scan needs the device position.' USING ERRCODE = 'GG400';
    END IF;
    SELECT * INTO radius FROM gridgeo.scan_radii WHERE target_collection = NEW.target_collection;
    NEW.distance_m := round(ST_Distance(target.geom::geography, NEW.geom::geography)::numeric,
                            1);
    allowed := radius.radius_m + least(coalesce(NEW.accuracy_m, 0), radius.max_accuracy_m);
    IF NEW.distance_m > allowed THEN
        RAISE EXCEPTION 'the scan was % m from % %; a scan counts within % m of it (% m plus '
            'the reported accuracy).', round(NEW.distance_m), NEW.target_collection,
            NEW.target_code, round(allowed), round(radius.radius_m) USING ERRCODE = 'GG400';
    END IF;
    -- The same inspector's nearest scans in time, before and after (batches come late).
    FOR neighbour IN
        (SELECT i.scanned_at, i.geom, i.accuracy_m, i.target_code FROM gridgeo.inspections i
          WHERE i.inspector = NEW.inspector AND i.scanned_at <= NEW.scanned_at
          ORDER BY i.scanned_at DESC LIMIT 1)
        UNION ALL
        (SELECT i.scanned_at, i.geom, i.accuracy_m, i.target_code FROM gridgeo.inspections i
          WHERE i.inspector = NEW.inspector AND i.scanned_at > NEW.scanned_at
          ORDER BY i.scanned_at LIMIT 1)
    LOOP
        kmh := greatest(ST_Distance(neighbour.geom::geography, NEW.geom::geography)
                        - coalesce(neighbour.accuracy_m, 0) - coalesce(NEW.accuracy_m, 0), 0)
               / 1000.0 / greatest(abs(extract(epoch FROM NEW.scanned_at - neighbour.scanned_at))
                                   / 3600.0, 1.0 / 3600);
        IF kmh > max_kmh THEN
            NEW.flagged := true;
            NEW.flag_reason := format('reaching it from the scan of %s at %s needs %s km/h '
                '(more than %s km/h)', neighbour.target_code,
                to_char(neighbour.scanned_at AT TIME ZONE gridgeo.local_tz(), 'YYYY-MM-DD HH24:MI:SS'),
                round(kmh::numeric), max_kmh);
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
