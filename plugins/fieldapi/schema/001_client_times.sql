-- requires: incidents/002, inspections/002, core/012
-- Work done offline reaches the server hours later with the time the device recorded
-- (a scan's scanned_at, an incident's reported_at). Both already refuse a time in the
-- future beyond 5 minutes of clock skew; this bounds the past: a request (gridgeo.actor
-- set) may bring a time at most GRIDGEO_CLIENT_TIME_MAX_AGE_DAYS old, which gridgeo sets
-- per transaction as gridgeo.client_time_max_age. Imports and maintenance connections
-- set neither and bring history of any age. The server's own receipt time is kept beside
-- the device's: inspections.received_at, and an incident's first event (its `at`).
CREATE FUNCTION gridgeo.check_client_time(field text, moment timestamptz) RETURNS void
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_age interval := nullif(current_setting('gridgeo.client_time_max_age', true), '')::interval;
BEGIN
    IF max_age IS NULL OR nullif(current_setting('gridgeo.actor', true), '') IS NULL THEN
        RETURN;
    END IF;
    IF moment < now() - max_age THEN
        RAISE EXCEPTION '% % is more than % before the server received it (%): a time '
            'recorded offline is accepted up to % after the fact. Check the device clock, '
            'or have the office enter older records.',
            field, to_char(moment AT TIME ZONE gridgeo.local_tz(), 'YYYY-MM-DD HH24:MI'),
            max_age, to_char(now() AT TIME ZONE gridgeo.local_tz(), 'YYYY-MM-DD HH24:MI'),
            max_age USING ERRCODE = 'GG400';
    END IF;
END $$;

CREATE FUNCTION gridgeo.inspections_client_time() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridgeo.check_client_time('scanned_at', NEW.scanned_at);
    RETURN NEW;
END $$;
-- "a_": before the scan checks, so an old scan is told it is old, not that it is far away.
CREATE TRIGGER a_inspections_client_time BEFORE INSERT ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.inspections_client_time();

CREATE FUNCTION gridgeo.incidents_client_time() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM gridgeo.check_client_time('reported_at', NEW.reported_at);
    RETURN NEW;
END $$;
CREATE TRIGGER a_incidents_client_time BEFORE INSERT ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_client_time();
