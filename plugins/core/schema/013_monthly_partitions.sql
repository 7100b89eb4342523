-- requires: core/012
-- Append-only history partitioned by month (docs/scaling.md): each month's rows and
-- indexes in a partition of their own, so a time-bounded query reads only its months and
-- an old month can be detached and archived whole. Native range partitioning; the
-- scheduler keeps partitions ahead (task "history-partitions", plugins/core), and a
-- DEFAULT partition catches anything outside them (a clock far off), so no insert fails.

-- The tables partitioned here, and how many months ahead their partitions are made.
CREATE TABLE gridgeo.monthly_partitioned (
    relation      text PRIMARY KEY,   -- a table in schema gridgeo
    key_column    text NOT NULL,      -- its timestamptz partition key
    months_ahead  integer NOT NULL DEFAULT 3 CHECK (months_ahead BETWEEN 1 AND 24)
);
INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('monthly_partitioned', 'never');

-- Months are the deployment's months (gridgeo.local_tz()): a report for March reads
-- exactly the March partition.
CREATE FUNCTION gridgeo.month_start(moment timestamptz) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT date_trunc('month', moment AT TIME ZONE gridgeo.local_tz())
                 AT TIME ZONE gridgeo.local_tz() $$;

-- The partition of ``relation`` for the month ``moment`` falls in: made when missing, with
-- the parent's row-level security and policies (a query straight to a partition obeys
-- the parent's rules too), and any rows of that month moved out of the DEFAULT partition
-- first (attaching a range the default holds rows of would fail).
CREATE FUNCTION gridgeo.ensure_month_partition(relation text, moment timestamptz)
    RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    parent regclass := format('gridgeo.%I', relation)::regclass;
    low timestamptz := gridgeo.month_start(moment);
    high timestamptz := gridgeo.month_start(low + interval '32 days');
    part text := format('%s_y%s', relation, to_char(low AT TIME ZONE gridgeo.local_tz(),
                                                    'YYYY"m"MM'));
    key text := (SELECT m.key_column FROM gridgeo.monthly_partitioned m
                  WHERE m.relation = ensure_month_partition.relation);
BEGIN
    IF to_regclass(format('gridgeo.%I', part)) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TABLE gridgeo.%I (LIKE %s INCLUDING DEFAULTS INCLUDING '
                   'CONSTRAINTS INCLUDING STORAGE)', part, parent);
    IF to_regclass(format('gridgeo.%I', relation || '_default')) IS NOT NULL THEN
        EXECUTE format('WITH moved AS (DELETE FROM gridgeo.%I WHERE %I >= %L AND %I < %L'
                       ' RETURNING *) INSERT INTO gridgeo.%I SELECT * FROM moved',
                       relation || '_default', key, low, key, high, part);
    END IF;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION gridgeo.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, part, low, high);
    PERFORM gridgeo.copy_row_security(parent, format('gridgeo.%I', part)::regclass);
    RETURN part;
END $$;

CREATE FUNCTION gridgeo.copy_row_security(parent regclass, part regclass)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    policy record;
BEGIN
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = parent) THEN
        EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
    END IF;
    IF (SELECT relforcerowsecurity FROM pg_class WHERE oid = parent) THEN
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', part);
    END IF;
    FOR policy IN SELECT p.* FROM pg_policies p JOIN pg_class c ON c.relname = p.tablename
                    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = p.schemaname
                   WHERE c.oid = parent LOOP
        EXECUTE format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', policy.policyname,
                       part, policy.permissive, policy.cmd,
                       array_to_string(policy.roles, ', '),
                       CASE WHEN policy.qual IS NULL THEN ''
                            ELSE format(' USING (%s)', policy.qual) END,
                       CASE WHEN policy.with_check IS NULL THEN ''
                            ELSE format(' WITH CHECK (%s)', policy.with_check) END);
    END LOOP;
END $$;

-- Every month's partition that rows of the DEFAULT partition belong to (a bulk load of
-- history, a clock far off), then this month's and the next months_ahead months' of every
-- partitioned table. The scheduler calls it daily, bulk loads after loading. Returns how
-- many partitions it made.
CREATE FUNCTION gridgeo.keep_partitions_ahead() RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    made integer := 0;
    tbl record;
    month timestamptz;
    before integer;
BEGIN
    FOR tbl IN SELECT * FROM gridgeo.monthly_partitioned ORDER BY relation LOOP
        before := (SELECT count(*) FROM pg_inherits
                    WHERE inhparent = format('gridgeo.%I', tbl.relation)::regclass);
        IF to_regclass(format('gridgeo.%I', tbl.relation || '_default')) IS NOT NULL THEN
            FOR month IN EXECUTE format('SELECT DISTINCT gridgeo.month_start(%I) FROM gridgeo.%I',
                                        tbl.key_column, tbl.relation || '_default') LOOP
                PERFORM gridgeo.ensure_month_partition(tbl.relation, month);
            END LOOP;
        END IF;
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

-- Rows no month partition took: a gauge (plugins/core) to alert on; the daily task moves
-- them into their months.
CREATE FUNCTION gridgeo.default_partition_rows() RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    total bigint := 0;
    found bigint;
    tbl record;
BEGIN
    FOR tbl IN SELECT m.relation FROM gridgeo.monthly_partitioned m
                WHERE to_regclass(format('gridgeo.%I', m.relation || '_default')) IS NOT NULL LOOP
        EXECUTE format('SELECT count(*) FROM gridgeo.%I', tbl.relation || '_default') INTO found;
        total := total + found;
    END LOOP;
    RETURN total;
END $$;

-- Turn table ``relation`` into one partitioned by month on ``key_column``, inside the
-- migration's transaction: a new parent with the same columns, defaults and checks,
-- primary key (id, key) (a partitioned table's unique keys must hold its partition key),
-- the other indexes, foreign keys, triggers, row-level security and policies again;
-- partitions for every month holding rows and months_ahead more, a DEFAULT partition;
-- the rows moved; the id sequence kept; the views that read it made again as they were.
-- A table with unique keys other than its primary key, or referenced by a foreign key,
-- is refused: those guarantees need a design of their own (docs/scaling.md).
CREATE FUNCTION gridgeo.partition_by_month(relation text, key_column text,
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
    views := ARRAY(SELECT DISTINCT format('CREATE VIEW gridgeo.%I%s AS %s', v.relname,
                                          coalesce(' WITH (' || array_to_string(v.reloptions, ', ')
                                                   || ')', ''),
                                          pg_get_viewdef(v.oid))
                     FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                     JOIN pg_class v ON v.oid = r.ev_class
                    WHERE d.refobjid = old AND v.oid <> old);
    IF EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                WHERE r.ev_class <> d.refobjid AND d.refobjid IN (
                      SELECT r2.ev_class FROM pg_depend d2 JOIN pg_rewrite r2 ON r2.oid = d2.objid
                       WHERE d2.refobjid = old AND r2.ev_class <> old)) THEN
        RAISE EXCEPTION 'a view reads a view of gridgeo.%; partition it by hand', relation;
    END IF;

    EXECUTE format('CREATE TABLE gridgeo.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
                   ' INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)',
                   staged, old, key_column);
    PERFORM gridgeo.copy_row_security(old, format('gridgeo.%I', staged)::regclass);
    FOR saved IN SELECT DISTINCT v.oid::regclass AS view FROM pg_depend d
                   JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
                  WHERE d.refobjid = old AND v.oid <> old LOOP
        EXECUTE format('DROP VIEW %s', saved.view);
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
