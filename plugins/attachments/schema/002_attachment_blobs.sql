-- requires: attachments/001, core/010
-- The attachment store's blobs in the database (GRIDGEO_ATTACHMENT_STORE=database):
-- attachments and whatever else keeps files there (stored reports, plugins/reports).
-- Every web node of a deployment reads and writes them with nothing shared but
-- PostgreSQL, and a database backup (pgBackRest, pg_dump) holds them with their rows.
-- Keys are the store's content-addressed keys (gridgeo.storage: a SHA-256 and a suffix),
-- so a blob is written once. No row-level security: a blob is reached only through its
-- row (an attachment, a report), which every path reads as the caller first.
CREATE TABLE gridgeo.attachment_blobs (
    key        text PRIMARY KEY CHECK (key ~ '^[0-9a-f]{64}(\.[a-z]+)?$'),
    data       bytea NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
-- Photos and PDFs are compressed already: store them out of line without trying again.
ALTER TABLE gridgeo.attachment_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('attachment_blobs', 'never');
SELECT gridgeo.grant_editors();
