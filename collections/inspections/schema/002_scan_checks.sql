-- requires: incidents/002, addresses/001, greenhouses/001, mine_tunnels/001
-- QR scan check-ins, checked by the database: the target exists, the result is one the
-- target type knows, the device was near enough, the time is not in the future; an
-- impossible speed between one inspector's scans is flagged (evidence, never a ranking).
-- A scan moves its target's last_scanned_at / last_inspected_at and may open an incident.

ALTER TABLE gridgeo.inspections
    ADD COLUMN inspector    text,
    ADD COLUMN distance_m   double precision,
    ADD COLUMN incident_id  integer REFERENCES gridgeo.incidents (id) ON DELETE SET NULL;
CREATE INDEX inspections_inspector_idx ON gridgeo.inspections (inspector, scanned_at);

-- How near a scan must be, per target type (the device's reported accuracy widens it,
-- up to max_accuracy_m).
CREATE TABLE gridgeo.scan_radii (
    target_collection text PRIMARY KEY,
    radius_m          double precision NOT NULL CHECK (radius_m > 0),
    max_accuracy_m    double precision NOT NULL CHECK (max_accuracy_m >= 0)
);
INSERT INTO gridgeo.scan_radii VALUES
    ('addresses', 50, 100), ('greenhouses', 80, 100), ('mine_tunnels', 150, 200);

-- What a scan may report per target type, and which results open an incident (with the
-- category to file it under: created if missing, so a reloaded category list cannot
-- break scanning) or set the target's status.
CREATE TABLE gridgeo.scan_results (
    target_collection text NOT NULL,
    result            text NOT NULL,
    sets_status       text,
    category_code     text,
    category_name_zh  text,
    category_name_en  text,
    colour            text,
    PRIMARY KEY (target_collection, result)
);
INSERT INTO gridgeo.scan_results VALUES
    ('addresses', 'ok', NULL, NULL, NULL, NULL, NULL),
    ('addresses', 'problem', NULL, NULL, NULL, NULL, NULL),
    ('greenhouses', 'in_use', 'in_use', NULL, NULL, NULL, NULL),
    ('greenhouses', 'idle', 'idle', NULL, NULL, NULL, NULL),
    ('greenhouses', 'abandoned', 'abandoned', NULL, NULL, NULL, NULL),
    ('greenhouses', 'suspected_conversion', 'suspected_conversion', NULL, NULL, NULL, NULL),
    ('greenhouses', 'converted_to_housing', 'converted_to_housing', 'scan_greenhouse_housing',
     '大棚房（扫码发现）', 'greenhouse converted to housing (scan)', 'orange'),
    ('mine_tunnels', 'sealed', NULL, NULL, NULL, NULL, NULL),
    ('mine_tunnels', 'suspected_reopened', 'suspected_reopened', NULL, NULL, NULL, NULL),
    ('mine_tunnels', 'reopened', 'reopened', 'scan_adit_reopened',
     '封闭矿洞复开（扫码发现）', 'sealed adit reopened (scan)', 'red');

INSERT INTO gridgeo.deployment (key, value) VALUES ('scan_max_speed_kmh', '120')
    ON CONFLICT (key) DO NOTHING;

-- The target's place and a display name, or nothing.
CREATE FUNCTION gridgeo.scan_target(collection text, code text, OUT id integer,
                                    OUT geom geometry, OUT name text)
    LANGUAGE sql STABLE AS $$
    SELECT a.id, a.geom, a.full_address FROM gridgeo.addresses a
     WHERE collection = 'addresses' AND a.address_code = code
    UNION ALL
    SELECT g.id, g.geom, '大棚 ' || g.gh_no FROM gridgeo.greenhouses g
     WHERE collection = 'greenhouses' AND g.gh_no = code
    UNION ALL
    SELECT t.id, t.geom, t.name FROM gridgeo.mine_tunnels t
     WHERE collection = 'mine_tunnels' AND t.adit_no = code $$;

CREATE FUNCTION gridgeo.inspections_check_scan() RETURNS trigger
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
                to_char(neighbour.scanned_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),
                round(kmh::numeric), max_kmh);
        END IF;
    END LOOP;
    RETURN NEW;
END $$;
CREATE TRIGGER inspections_check_scan BEFORE INSERT ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.inspections_check_scan();

-- After a scan is accepted: the target's last scan time, its status, and an incident when
-- the result calls for one (filed at the target, source inspection, state reported).
CREATE FUNCTION gridgeo.inspections_after_scan() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    rule gridgeo.scan_results;
    target record;
    new_incident integer;
BEGIN
    SELECT * INTO rule FROM gridgeo.scan_results
     WHERE target_collection = NEW.target_collection AND result = NEW.result;
    IF NEW.target_collection = 'greenhouses' THEN
        UPDATE gridgeo.greenhouses
           SET last_scanned_at = greatest(last_scanned_at, NEW.scanned_at),
               status = coalesce(rule.sets_status, status)
         WHERE gh_no = NEW.target_code;
    ELSIF NEW.target_collection = 'mine_tunnels' THEN
        UPDATE gridgeo.mine_tunnels
           SET last_inspected_at = greatest(last_inspected_at, NEW.scanned_at),
               status = coalesce(rule.sets_status, status)
         WHERE adit_no = NEW.target_code;
    END IF;
    IF rule.category_code IS NOT NULL THEN
        INSERT INTO gridgeo.incident_categories (code, name_zh, name_en, class)
        VALUES (rule.category_code, rule.category_name_zh, rule.category_name_en, 'emergency')
        ON CONFLICT (code) DO NOTHING;
        SELECT * INTO target FROM gridgeo.scan_target(NEW.target_collection, NEW.target_code);
        INSERT INTO gridgeo.incidents (category_code, title, description, colour, source,
                                       reported_at, geom)
        VALUES (rule.category_code, rule.category_name_zh || '：' || target.name,
                coalesce(NEW.note, '') || ' (扫码巡查 ' || NEW.scan_uuid || ')', rule.colour,
                'inspection', least(NEW.scanned_at, now()),
                CASE WHEN ST_Dimension(target.geom) = 2 THEN ST_PointOnSurface(target.geom)
                     ELSE target.geom END)
        RETURNING id INTO new_incident;
        UPDATE gridgeo.inspections SET incident_id = new_incident WHERE id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER inspections_after_scan AFTER INSERT ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.inspections_after_scan();

CREATE OR REPLACE VIEW gridgeo.inspections_view AS
SELECT i.id, i.scan_uuid, i.target_collection, i.target_code, i.inspector_id,
       s.name AS inspector_name, i.scanned_at, i.received_at, i.accuracy_m, i.result, i.note,
       i.photos, i.flagged, i.flag_reason, i.grid_code, i.dedicated_grid_code, i.geom,
       i.inspector, i.distance_m, i.incident_id, inc.case_no AS incident_case_no
  FROM gridgeo.inspections i
  LEFT JOIN gridgeo.staff s ON s.id = i.inspector_id
  LEFT JOIN gridgeo.incidents inc ON inc.id = i.incident_id;
