-- requires: attachments/003, inspections/005
-- Attachments reference their inspection by the partitioned table's whole key (id,
-- scanned_at), so attachments/001's guarantee holds again: no attachment of a scan that
-- does not exist, and no scan deleted from under its attachments. MATCH FULL: an
-- attachment of a scan names both (the trigger of attachments/003 fills the time), one of
-- an incident neither.
ALTER TABLE gridgeo.attachments ADD CONSTRAINT attachments_inspection_fkey
    FOREIGN KEY (inspection_id, inspection_scanned_at)
    REFERENCES gridgeo.inspections (id, scanned_at) MATCH FULL;
