-- requires: core/014, incidents/013, incident_events/002
-- after: notify/003
-- Incident events, partitioned by month on ``at`` (core/013): primary key (id, at), ids
-- still from one sequence. The notifications' outbox (plugins/notify, when installed)
-- referenced events by id alone and typed a function with their row: notify/003 undoes
-- both before this step ("after", not "requires": the plugin may be disabled) and
-- notify/004 references (event_id, event_at) after it. incident_events_view is made again
-- from its own definition by partition_by_month, whatever migration last changed it.

-- A table others reference (events, by the outbox) cannot have its stray rows moved out of
-- the DEFAULT partition by a plain DELETE and INSERT: the delete would fire the referrers'
-- ON DELETE CASCADE and lose their rows. Moving them now lifts those foreign keys for the
-- move and puts them back (checked again) in the same transaction; nothing else changes.
CREATE OR REPLACE FUNCTION gridgeo.ensure_month_partition(relation text, moment timestamptz)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parent regclass := format('gridgeo.%I', relation)::regclass;
    low timestamptz := gridgeo.month_start(moment);
    high timestamptz := gridgeo.month_start(low + interval '32 days');
    part text := format('%s_y%s', relation, to_char(low AT TIME ZONE gridgeo.local_tz(),
                                                    'YYYY"m"MM'));
    key text := (SELECT m.key_column FROM gridgeo.monthly_partitioned m
                  WHERE m.relation = ensure_month_partition.relation);
    stray text := relation || '_default';
    referrer record;
    referrers text[] := '{}';
    moving boolean := false;
BEGIN
    IF to_regclass(format('gridgeo.%I', part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TABLE gridgeo.%I (LIKE %s INCLUDING DEFAULTS INCLUDING '
                   'CONSTRAINTS INCLUDING STORAGE)', part, parent);
    IF to_regclass(format('gridgeo.%I', stray)) IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT FROM gridgeo.%I WHERE %I >= %L AND %I < %L)',
                       stray, key, low, key, high) INTO moving;
    END IF;
    IF moving THEN
        FOR referrer IN SELECT c.conrelid::regclass AS tbl, c.conname,
                               pg_get_constraintdef(c.oid) AS def
                          FROM pg_constraint c
                         WHERE c.confrelid = parent AND c.contype = 'f'
                           AND c.conparentid = 0 LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', referrer.tbl, referrer.conname);
            referrers := referrers || format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                             referrer.tbl, referrer.conname, referrer.def);
        END LOOP;
        EXECUTE format('WITH moved AS (DELETE FROM gridgeo.%I WHERE %I >= %L AND %I < %L'
                       ' RETURNING *) INSERT INTO gridgeo.%I SELECT * FROM moved',
                       stray, key, low, key, high, part);
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION gridgeo.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, low, high);
    PERFORM gridgeo.copy_row_security(parent, format('gridgeo.%I', part)::regclass);
    FOR i IN 1 .. coalesce(array_length(referrers, 1), 0) LOOP
        EXECUTE referrers[i];
    END LOOP;
    RETURN part;
END $$;

SELECT gridgeo.partition_by_month('incident_events', 'at');
SELECT gridgeo.grant_editors();
