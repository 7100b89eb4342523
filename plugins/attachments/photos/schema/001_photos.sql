-- requires: attachments/001, core/012
-- Photos of incidents and inspections for lists and maps: one row per photo with its
-- thumbnail's path, placed where its item is as the caller reads the item. The items'
-- views decide who sees which photo (row-level security and the public half of
-- incidents_view: the public gets only photos of the incidents it may read, at their
-- generalised place, and none of inspections). Paths are relative to the server's URL.
CREATE VIEW gridgeo.attachment_photos AS
SELECT a.id, 'incidents'::text AS collection, a.incident_id::bigint AS item_id,
       v.case_no AS item_code, a.title, a.stage, a.width, a.height, a.taken_at, a.flagged,
       a.uploaded_at,
       format('/collections/incidents/items/%s/attachments/%s', a.incident_id, a.id) AS href,
       format('/collections/incidents/items/%s/attachments/%s/thumbnail', a.incident_id,
              a.id) AS thumbnail,
       v.geom::geometry(Point, 4490) AS geom
  FROM gridgeo.attachments a
  JOIN gridgeo.incidents_view v ON v.id = a.incident_id
 WHERE a.has_thumbnail
UNION ALL
SELECT a.id, 'inspections', a.inspection_id, v.target_code, a.title, a.stage, a.width,
       a.height, a.taken_at, a.flagged, a.uploaded_at,
       format('/collections/inspections/items/%s/attachments/%s', a.inspection_id, a.id),
       format('/collections/inspections/items/%s/attachments/%s/thumbnail', a.inspection_id,
              a.id),
       v.geom::geometry(Point, 4490)
  FROM gridgeo.attachments a
  JOIN gridgeo.inspections_view v ON v.id = a.inspection_id
 WHERE a.has_thumbnail;

INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('attachment_photos', 'read')
    ON CONFLICT (relation) DO NOTHING;
SELECT gridgeo.grant_editors();
