-- requires: incidents/005, inspections/002, core/002
-- Attachments (photos, PDFs) of incidents and inspections (scans): metadata here, the
-- blobs in the attachment store under their SHA-256 (gridgeo.storage). No row-level
-- security on this table: every path reads or writes an attachment only after reading
-- (or locking for update) its item as the caller, whose policies decide.
CREATE TABLE gridgeo.attachments (
    id             bigserial PRIMARY KEY,
    incident_id    integer REFERENCES gridgeo.incidents (id),
    inspection_id  bigint REFERENCES gridgeo.inspections (id),
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type     text NOT NULL CHECK (media_type IN ('image/jpeg', 'image/png',
                       'image/heic', 'application/pdf')),
    length         bigint NOT NULL CHECK (length > 0),
    -- The copy roles without personal-data rights receive: re-encoded, no EXIF, no GPS.
    public_type    text NOT NULL,
    public_length  bigint NOT NULL CHECK (public_length > 0),
    has_thumbnail  boolean NOT NULL,
    title          text CHECK (length(title) <= 200),
    -- 处置前 / 处置后: a photo before or after the case was handled.
    stage          text CHECK (stage IN ('before', 'after')),
    width          integer,
    height         integer,
    taken_at       timestamptz,
    geom           geometry(Point, 4490),
    distance_m     double precision,
    flagged        boolean NOT NULL DEFAULT false,
    flag_reason    text,
    uploaded_by    text NOT NULL,
    uploaded_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_one_item CHECK ((incident_id IS NULL) <> (inspection_id IS NULL)),
    CONSTRAINT attachments_once_per_incident UNIQUE (incident_id, sha256),
    CONSTRAINT attachments_once_per_inspection UNIQUE (inspection_id, sha256)
);
CREATE INDEX attachments_sha256_idx ON gridgeo.attachments (sha256);

-- Open311's media_url: the hotline's link to a photo kept elsewhere.
ALTER TABLE gridgeo.incidents ADD COLUMN media_url text
    CHECK (media_url ~ '^https?://' AND length(media_url) <= 2000);

-- A category whose cases need proof of the handling: no resolve without an after-photo.
ALTER TABLE gridgeo.incident_categories
    ADD COLUMN requires_after_photo boolean NOT NULL DEFAULT false;

CREATE FUNCTION gridgeo.incidents_resolve_needs_after_photo() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    category gridgeo.incident_categories;
BEGIN
    IF NEW.state <> 'resolved' OR OLD.state = 'resolved' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO category FROM gridgeo.incident_categories WHERE code = NEW.category_code;
    IF category.requires_after_photo AND NOT EXISTS (
            SELECT 1 FROM gridgeo.attachments a
             WHERE a.incident_id = NEW.id AND a.stage = 'after') THEN
        RAISE EXCEPTION 'category % (%) needs a photo after handling (处置后) before incident % '
            'is resolved: upload one to its attachments with stage=after first.',
            category.code, category.name_zh, NEW.case_no USING ERRCODE = 'GG409';
    END IF;
    RETURN NEW;
END $$;

-- Named to run after incidents_before_update (BEFORE triggers fire in name order), so
-- a transition the state machine refuses is said as such first.
CREATE TRIGGER incidents_resolve_needs_after_photo BEFORE UPDATE OF state ON gridgeo.incidents
    FOR EACH ROW EXECUTE FUNCTION gridgeo.incidents_resolve_needs_after_photo();
