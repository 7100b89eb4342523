-- requires: attachments/001
-- Inspections become partitioned by month (inspections/005, docs/scaling.md), and a foreign
-- key into a partitioned table must name its whole primary key (id, scanned_at). This
-- step, which inspections/005 runs after ("after", not "requires": the plugin may be
-- disabled), keeps the scan's time beside its id and lets go of the key on id alone;
-- attachments/004 references both once the table is partitioned. The database fills the
-- time from the inspection, so no writer has to know it.
ALTER TABLE gridgeo.attachments ADD COLUMN inspection_scanned_at timestamptz;
UPDATE gridgeo.attachments a SET inspection_scanned_at = i.scanned_at
  FROM gridgeo.inspections i WHERE i.id = a.inspection_id;
ALTER TABLE gridgeo.attachments DROP CONSTRAINT attachments_inspection_id_fkey;

-- Read as the caller: every path locks the inspection as the caller before attaching to
-- it (plugins/attachments/records.py), so an inspection it may not read is not found.
CREATE FUNCTION gridgeo.attachments_inspection_time() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.inspection_id IS NULL THEN
        NEW.inspection_scanned_at := NULL;
        RETURN NEW;
    END IF;
    SELECT i.scanned_at INTO NEW.inspection_scanned_at
      FROM gridgeo.inspections i WHERE i.id = NEW.inspection_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no inspection has the id %; attach files to a recorded scan.',
            NEW.inspection_id USING ERRCODE = 'GG404';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER attachments_inspection_time
    BEFORE INSERT OR UPDATE OF inspection_id ON gridgeo.attachments
    FOR EACH ROW EXECUTE FUNCTION gridgeo.attachments_inspection_time();
