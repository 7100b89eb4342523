-- requires: inspections/004, core/015
-- after: attachments/003
-- Inspections (scans), partitioned by month on scanned_at (core/013, docs/scaling.md):
-- primary key (id, scanned_at), ids still from one sequence, and the API's item id still
-- ``id`` (a lookup by id probes each month's primary-key index). Attachments referenced
-- inspections by id alone: attachments/003 lets go of that key before this step and
-- attachments/004 references (inspection_id, inspection_scanned_at) after it.
--
-- scan_uuid was unique on its own; a partitioned table's unique keys must hold the
-- partition key, so the table's key becomes (scan_uuid, scanned_at) (a phone's retry of a
-- scan repeats both, so ON CONFLICT still makes it harmless) and a UUID's uniqueness
-- across months moves to gridgeo.scan_uuids below.

-- Moving stray rows out of the DEFAULT partition is no change to them: the rows go into
-- the new month's table before it is attached (no insert trigger fires), and now the
-- delete from DEFAULT fires none either (an inspection's audit trigger would log every
-- moved scan as deleted). Otherwise as core/015's.
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
        EXECUTE format('ALTER TABLE gridgeo.%I DISABLE TRIGGER USER', stray);
        EXECUTE format('WITH moved AS (DELETE FROM gridgeo.%I WHERE %I >= %L AND %I < %L'
                       ' RETURNING *) INSERT INTO gridgeo.%I SELECT * FROM moved',
                       stray, key, low, key, high, part);
        EXECUTE format('ALTER TABLE gridgeo.%I ENABLE TRIGGER USER', stray);
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION gridgeo.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, low, high);
    PERFORM gridgeo.copy_row_security(parent, format('gridgeo.%I', part)::regclass);
    FOR i IN 1 .. coalesce(array_length(referrers, 1), 0) LOOP
        EXECUTE referrers[i];
    END LOOP;
    RETURN part;
END $$;

-- The DEFAULT partition's months read into an array before any is made: an open loop over
-- its rows would keep it in use, and ensure_month_partition alters it to move them.
-- Otherwise as core/013's.
CREATE OR REPLACE FUNCTION gridgeo.keep_partitions_ahead() RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    tbl record;
    strays timestamptz[];
    month timestamptz;
    before integer;
BEGIN
    FOR tbl IN SELECT * FROM gridgeo.monthly_partitioned ORDER BY relation LOOP
        before := (SELECT count(*) FROM pg_inherits
                    WHERE inhparent = format('gridgeo.%I', tbl.relation)::regclass);
        strays := '{}';
        IF to_regclass(format('gridgeo.%I', tbl.relation || '_default')) IS NOT NULL THEN
            EXECUTE format('SELECT array_agg(DISTINCT gridgeo.month_start(%I)) FROM gridgeo.%I',
                           tbl.key_column, tbl.relation || '_default') INTO strays;
        END IF;
        FOREACH month IN ARRAY coalesce(strays, '{}') LOOP
            PERFORM gridgeo.ensure_month_partition(tbl.relation, month);
        END LOOP;
        FOR ahead IN 0 .. tbl.months_ahead LOOP
            PERFORM gridgeo.ensure_month_partition(
                tbl.relation, now() + make_interval(months => ahead));
        END LOOP;
        made := made + (SELECT count(*) FROM pg_inherits
                         WHERE inhparent = format('gridgeo.%I', tbl.relation)::regclass)
                     - before;
    END LOOP;
    RETURN made;
END $$;

-- partition_by_month made again views that read the table, but refused views of those
-- views; the photos of attachments (photos/001) read inspections_view. Now it makes them
-- again too, in the order they depend on each other.

-- The views that read ``tbl``, and the views that read those, each with its depth (1: reads
-- the table) and its definition: made again shallowest first, dropped deepest first.
CREATE FUNCTION gridgeo.view_readers(tbl regclass)
    RETURNS TABLE (name text, kind "char", depth integer, definition text)
    LANGUAGE sql STABLE AS $$
    WITH RECURSIVE reader(view, depth) AS (
        SELECT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
         WHERE d.refobjid = tbl AND r.ev_class <> tbl
        UNION ALL
        SELECT r.ev_class, reader.depth + 1 FROM reader
          JOIN pg_depend d ON d.refobjid = reader.view
          JOIN pg_rewrite r ON r.oid = d.objid
         WHERE r.ev_class <> reader.view)
    SELECT format('%I.%I', n.nspname, v.relname), v.relkind, max(reader.depth),
           format('CREATE VIEW %I.%I%s AS %s', n.nspname, v.relname,
                  coalesce(' WITH (' || array_to_string(v.reloptions, ', ') || ')', ''),
                  pg_get_viewdef(v.oid))
      FROM reader JOIN pg_class v ON v.oid = reader.view
      JOIN pg_namespace n ON n.oid = v.relnamespace
     GROUP BY v.oid, n.nspname $$;

-- Turn table ``relation`` into one partitioned by month on ``key_column``, inside the
-- migration's transaction: a new parent with the same columns, defaults and checks,
-- primary key (id, key) (a partitioned table's unique keys must hold its partition key),
-- the other indexes, foreign keys, triggers, row-level security and policies again;
-- partitions for every month holding rows and months_ahead more, a DEFAULT partition;
-- the rows moved; the id sequence kept; the views that read it, and the views that read
-- those, made again as they were. A table with unique keys other than its primary key, or
-- referenced by a foreign key, is refused: those guarantees need a design of their own
-- (docs/scaling.md); the caller lets go of them first and puts them back after.
CREATE OR REPLACE FUNCTION gridgeo.partition_by_month(relation text, key_column text,
                                                      months_ahead integer DEFAULT 3)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old regclass := format('gridgeo.%I', relation)::regclass;
    staged text := relation || '_partitioned';
    seq text := pg_get_serial_sequence(format('gridgeo.%I', relation), 'id');
    first_month timestamptz;
    last_month timestamptz;
    month timestamptz;
    saved record;
    indexes text[];
    constraints text[];
    triggers text[];
    views text[];
    statement text;
BEGIN
    IF EXISTS (SELECT FROM pg_constraint WHERE confrelid = old) THEN
        RAISE EXCEPTION 'gridgeo.% is referenced by a foreign key; partition it by hand', relation;
    END IF;
    IF EXISTS (SELECT FROM pg_constraint WHERE conrelid = old AND contype IN ('u', 'x')) THEN
        RAISE EXCEPTION 'gridgeo.% has unique keys besides its primary key; partition it '
            'by hand', relation;
    END IF;
    -- What the old table carries, as statements to run on the new one.
    indexes := ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
                      WHERE i.indrelid = old AND NOT i.indisprimary);
    constraints := ARRAY(SELECT format('ALTER TABLE gridgeo.%I ADD CONSTRAINT %I %s', relation,
                                       c.conname, pg_get_constraintdef(c.oid))
                           FROM pg_constraint c WHERE c.conrelid = old AND c.contype = 'f');
    triggers := ARRAY(SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t
                       WHERE t.tgrelid = old AND NOT t.tgisinternal);
    IF EXISTS (SELECT FROM gridgeo.view_readers(old) WHERE kind <> 'v') THEN
        RAISE EXCEPTION 'a materialized view reads gridgeo.%; partition it by hand', relation;
    END IF;
    views := ARRAY(SELECT definition FROM gridgeo.view_readers(old) ORDER BY depth, name);

    EXECUTE format('CREATE TABLE gridgeo.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
                   ' INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                   staged, old, key_column);
    PERFORM gridgeo.copy_row_security(old, format('gridgeo.%I', staged)::regclass);
    FOR saved IN SELECT name FROM gridgeo.view_readers(old) ORDER BY depth DESC, name LOOP
        EXECUTE format('DROP VIEW %s', saved.name);
    END LOOP;
    IF seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s OWNED BY gridgeo.%I.id', seq, staged);
    END IF;
    EXECUTE format('ALTER TABLE %s RENAME TO %I', old, relation || '_unpartitioned');
    EXECUTE format('ALTER TABLE gridgeo.%I RENAME TO %I', staged, relation);
    INSERT INTO gridgeo.monthly_partitioned VALUES (relation, key_column, months_ahead);

    -- Partitions for every month that holds rows, up to now and months_ahead beyond.
    EXECUTE format('SELECT min(%I), max(%I) FROM gridgeo.%I', key_column, key_column,
                   relation || '_unpartitioned') INTO first_month, last_month;
    month := gridgeo.month_start(coalesce(first_month, now()));
    WHILE month <= coalesce(last_month, now()) LOOP
        PERFORM gridgeo.ensure_month_partition(relation, month);
        month := gridgeo.month_start(month + interval '32 days');
    END LOOP;
    PERFORM gridgeo.keep_partitions_ahead();
    EXECUTE format('CREATE TABLE gridgeo.%I PARTITION OF gridgeo.%I DEFAULT',
                   relation || '_default', relation);
    PERFORM gridgeo.copy_row_security(format('gridgeo.%I', relation)::regclass,
                                      format('gridgeo.%I', relation || '_default')::regclass);
    EXECUTE format('INSERT INTO gridgeo.%I SELECT * FROM gridgeo.%I', relation,
                   relation || '_unpartitioned');
    EXECUTE format('DROP TABLE gridgeo.%I', relation || '_unpartitioned');

    EXECUTE format('ALTER TABLE gridgeo.%I ADD CONSTRAINT %I PRIMARY KEY (id, %I)', relation,
                   relation || '_pkey', key_column);
    FOREACH statement IN ARRAY indexes || constraints || triggers || views LOOP
        EXECUTE statement;
    END LOOP;
END $$;

ALTER TABLE gridgeo.inspections DROP CONSTRAINT inspections_scan_uuid_key;
SELECT gridgeo.partition_by_month('inspections', 'scanned_at');
ALTER TABLE gridgeo.inspections ADD CONSTRAINT inspections_scan_uuid_key
    UNIQUE (scan_uuid, scanned_at);

-- One row per scan UUID ever recorded: a non-partitioned key, so a UUID stays one scan's
-- whatever the time, for every writer (the scans route, imports, SQL). Chosen over an
-- advisory lock plus a lookup in the scans route: the route reads inspections as its
-- caller, and row-level security hides other grids' scans from that lookup; and this
-- primary key serialises two transactions inserting one UUID at once (the second waits
-- for the first to commit, then is refused), where a lookup without a lock lets both in.
-- Filled after the insert, so a retry that ON CONFLICT (scan_uuid, scanned_at) turns into
-- nothing never reaches it. Deleting a scan (privacy erasure) frees its UUID, as before.
CREATE TABLE gridgeo.scan_uuids (
    scan_uuid   uuid PRIMARY KEY,
    scanned_at  timestamptz NOT NULL,
    CONSTRAINT scan_uuids_inspection_fkey FOREIGN KEY (scan_uuid, scanned_at)
        REFERENCES gridgeo.inspections (scan_uuid, scanned_at)
        ON UPDATE CASCADE ON DELETE CASCADE
);
INSERT INTO gridgeo.scan_uuids SELECT scan_uuid, scanned_at FROM gridgeo.inspections;
INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('scan_uuids', 'never');

CREATE FUNCTION gridgeo.inspections_scan_uuid_once() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO gridgeo.scan_uuids VALUES (NEW.scan_uuid, NEW.scanned_at)
        ON CONFLICT (scan_uuid) DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'scan_uuid % is already used by another scan; make a new UUID for '
            'every scan.', NEW.scan_uuid USING ERRCODE = 'GG409';
    END IF;
    RETURN NULL;
END $$;
-- "aa_": before inspections_after_scan, so a refused scan opens no incident first.
CREATE TRIGGER aa_inspections_scan_uuid_once AFTER INSERT ON gridgeo.inspections
    FOR EACH ROW EXECUTE FUNCTION gridgeo.inspections_scan_uuid_once();

-- The table and its views were made again: the QGIS editors' grants with them.
SELECT gridgeo.grant_editors();
