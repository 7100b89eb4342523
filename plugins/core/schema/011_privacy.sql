-- requires: core/010, core/004, incidents/012, inspections/003, incident_events/002
-- Privacy by default (docs/security.md): sensitive incident categories only for the roles
-- that handle them, free text scrubbed of phone and ID numbers for roles without
-- personal-data rights, incidents reduced for callers without a staff role, inspections
-- and the incident history never public, reads of personal data logged, and personal data
-- of closed cases anonymised after a retention period. Done here, in the views and
-- policies, because every output (items in any format, tiles, processes, reports, Open311,
-- QGIS) reads through them.

-- ---------------------------------------------------------------- who may see what
-- Role lists a deployment may change (UPDATE gridgeo.deployment ...).
INSERT INTO gridgeo.deployment (key, value) VALUES
    -- roles that handle sensitive categories (scoped to their grids like any incident)
    ('sensitive_roles', 'admin,grid_worker,police'),
    -- roles that read free text as written (the others get it scrubbed)
    ('free_text_roles', 'admin,gis_editor,grid_worker,police')
    ON CONFLICT (key) DO NOTHING;

CREATE FUNCTION gridgeo.deployment_roles(setting text) RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(string_to_array(
              (SELECT value FROM gridgeo.deployment WHERE key = setting), ','), '{}') $$;

-- A staff member of any role: everything else is the public, reduced view.
CREATE FUNCTION gridgeo.request_staff() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_trusted()
                 OR gridgeo.request_has_role('viewer', 'grid_worker', 'police', 'gis_editor',
                                             'admin') $$;

CREATE FUNCTION gridgeo.request_handles_sensitive() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_trusted()
                 OR coalesce(gridgeo.request_roles() && gridgeo.deployment_roles('sensitive_roles'),
                             false) $$;

CREATE FUNCTION gridgeo.request_reads_free_text() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT gridgeo.request_trusted()
                 OR coalesce(gridgeo.request_roles() && gridgeo.deployment_roles('free_text_roles'),
                             false) $$;

-- ---------------------------------------------------------------- sensitive categories
ALTER TABLE gridgeo.incident_categories ADD COLUMN sensitive boolean NOT NULL DEFAULT false;
UPDATE gridgeo.incident_categories SET sensitive = true WHERE code IN ('0601', '0606');

CREATE FUNCTION gridgeo.sensitive_category_codes() RETURNS text[]
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(array_agg(code), '{}') FROM gridgeo.incident_categories
           WHERE sensitive $$;

-- Restrictive: ANDed with whatever permissive read policies say (scopes by grid), so a
-- later change of those keeps this rule.
CREATE POLICY incidents_sensitive ON gridgeo.incidents AS RESTRICTIVE FOR SELECT USING (
    category_code <> ALL ((SELECT gridgeo.sensitive_category_codes())::text[])
    OR (SELECT gridgeo.request_handles_sensitive()));

-- A sentence instead of a bare policy violation for a writer who may not file such a case.
-- The hotline forwards every call (it never reads a case back): its inserts pass.
CREATE FUNCTION gridgeo.check_sensitive_category() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.category_code = ANY (gridgeo.sensitive_category_codes())
       AND NOT gridgeo.request_handles_sensitive()
       AND NOT (TG_OP = 'INSERT' AND NEW.source = 'hotline') THEN
        RAISE EXCEPTION 'category % is sensitive: only the roles that handle it (%) file, '
            'change and read such incidents.', NEW.category_code,
            array_to_string(gridgeo.deployment_roles('sensitive_roles'), ', ')
            USING ERRCODE = 'GG403';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER zz_incidents_sensitive BEFORE INSERT OR UPDATE OF category_code
    ON gridgeo.incidents FOR EACH ROW EXECUTE FUNCTION gridgeo.check_sensitive_category();

-- Inspections (each a worker's position at a time) and their notes are for staff only.
CREATE POLICY inspections_staff_only ON gridgeo.inspections AS RESTRICTIVE FOR SELECT
    USING ((SELECT gridgeo.request_staff()));

-- ---------------------------------------------------------------- free text
-- GB 11643: 17 digits weighted 2^(17-i) mod 11, the sum mod 11 picks the check character.
CREATE FUNCTION gridgeo.id_number_valid(candidate text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT CASE WHEN candidate ~ '^[0-9]{17}[0-9Xx]$' THEN
              substr('10X98765432',
                     (SELECT sum(substr(candidate, k::integer, 1)::integer * w)::integer
                        FROM unnest(ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
                             WITH ORDINALITY AS weights(w, k)) % 11 + 1, 1)
              = upper(right(candidate, 1))
          ELSE false END $$;

-- Free text without resident ID numbers (checksum-valid), mobile and landline numbers,
-- and the deployment's own patterns (GRIDGEO_SCRUB_PATTERNS, set on every pooled
-- connection as gridgeo.scrub_patterns, a JSON array of regular expressions).
CREATE FUNCTION gridgeo.scrub_text(body text) RETURNS text
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    result text := body;
    candidate text;
    pattern text;
BEGIN
    IF body IS NULL THEN
        RETURN NULL;
    END IF;
    IF result ~ '[0-9]' THEN
        FOR candidate IN SELECT DISTINCT m[1] FROM regexp_matches(
                result, '(?<![0-9])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])', 'g') AS m LOOP
            IF gridgeo.id_number_valid(candidate) THEN
                result := replace(result, candidate, '[证件号已隐去]');
            END IF;
        END LOOP;
        -- mobiles: 1[3-9]x xxxx xxxx, with or without +86 and separators
        result := regexp_replace(result,
            '(?<![0-9])(\+?86[- ]?)?1[3-9][0-9]([- ]?[0-9]{4}){2}(?![0-9])',
            '[电话已隐去]', 'g');
        -- landlines: a 3-4 digit area code (in brackets or not) and 7-8 digits
        result := regexp_replace(result,
            '(?<![0-9])(\(0[0-9]{2,3}\)|（0[0-9]{2,3}）|0[0-9]{2,3}[- ]?)[0-9]{7,8}(?![0-9])',
            '[电话已隐去]', 'g');
    END IF;
    FOR pattern IN SELECT jsonb_array_elements_text(coalesce(
            nullif(current_setting('gridgeo.scrub_patterns', true), ''), '[]')::jsonb) LOOP
        result := regexp_replace(result, pattern, '[已隐去]', 'g');
    END LOOP;
    RETURN result;
END $$;

-- ---------------------------------------------------------------- the views
-- Where incidents are for the public: a cell of 0.01 degree (about 1 km), its centre.
-- PostGIS named by schema: pg_dump (gridgeo backup) reads incidents with an empty
-- search_path, and the index below is planned then (as core/008 found for request_area).
CREATE FUNCTION gridgeo.public_place(geom public.geometry) RETURNS public.geometry
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.ST_SnapToGrid(geom, 0.005, 0.005, 0.01, 0.01) $$;
CREATE INDEX incidents_public_place_idx ON gridgeo.incidents
    USING gist ((gridgeo.public_place(geom)::geometry(Point, 4490)));

-- Staff see every column of the rows their policies let through, free text scrubbed
-- unless their role reads it; everybody else gets the reduced public view: no free text
-- (the title is the category's name: hotline titles are the caller's own words), no
-- address, no reporter, no actor, and the place generalised. Columns keep their names,
-- order and types (the view's contract).
CREATE OR REPLACE VIEW gridgeo.incidents_view AS
SELECT i.id, i.case_no, i.category_code, c.name_zh AS category_name, c.class AS category_class,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.title
            ELSE gridgeo.scrub_text(i.title) END AS title,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.description
            ELSE gridgeo.scrub_text(i.description) END AS description,
       i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       gridgeo.incident_handle_deadline(i.accepted_at, i.colour, i.grid_code,
                                        i.category_code) AS deadline_at,
       coalesce(now() > due.due_at, false) AS overdue,
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time,
                i.closed_at <= gridgeo.incident_handle_deadline(i.accepted_at, i.colour,
                                                                i.grid_code, i.category_code))
       END AS closed_on_time,
       i.agency_responsible, i.address_text, i.address_id,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_name END
           AS reporter_name,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_phone END
           AS reporter_phone,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.reporter_id_number END
           AS reporter_id_number,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code, i.geom,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.state_note
            ELSE gridgeo.scrub_text(i.state_note) END AS state_note,
       i.verified_at, i.grid_worker_id, w.name AS grid_worker_name,
       w.work_phone AS grid_worker_phone,
       gridgeo.incident_accept_deadline(i.reported_at, i.colour, i.grid_code,
                                        i.category_code) AS accept_deadline_at,
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false) AS near_due,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.colour_note
            ELSE gridgeo.scrub_text(i.colour_note) END AS colour_note,
       i.department_code, d.name AS department_name, i.assignee_staff_no,
       a.name AS assignee_name, i.cohandling_departments,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.dispatch_note
            ELSE gridgeo.scrub_text(i.dispatch_note) END AS dispatch_note,
       i.resolved_by, i.verified_by,
       c.police_response_target IS NOT NULL AS police_matter, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1) AS response_minutes,
       i.arrived_at - i.dispatched_at <= c.police_response_target AS responded_on_time,
       gridgeo.incident_escalation_level(i.id) AS escalation_level
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.staff w ON w.id = i.grid_worker_id
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN gridgeo.staff a ON a.staff_no = i.assignee_staff_no
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true
 WHERE (SELECT gridgeo.request_staff())
UNION ALL
-- The public half: deadlines, overdue, escalation and departments are about the case, not
-- a person, and stay; notes, staff numbers and names are NULL.
SELECT i.id, i.case_no, i.category_code, c.name_zh, c.class,
       c.name_zh, NULL::text,
       i.colour, i.state, i.source, i.reported_at, i.accepted_at,
       i.dispatched_at, i.resolved_at, i.closed_at, i.updated_at,
       gridgeo.incident_handle_deadline(i.accepted_at, i.colour, i.grid_code, i.category_code),
       coalesce(now() > due.due_at, false),
       CASE WHEN i.state = 'closed' THEN coalesce(i.closed_on_time,
                i.closed_at <= gridgeo.incident_handle_deadline(i.accepted_at, i.colour,
                                                                i.grid_code, i.category_code))
       END,
       i.agency_responsible, NULL::text, NULL::integer,
       NULL::text, NULL::text, NULL::text,
       i.grid_code, i.dedicated_grid_code, i.police_grid_code,
       gridgeo.public_place(i.geom)::geometry(Point, 4490),
       NULL::text, i.verified_at, NULL::integer, NULL::text, NULL::text,
       gridgeo.incident_accept_deadline(i.reported_at, i.colour, i.grid_code, i.category_code),
       due.due_at,
       coalesce(now() <= due.due_at AND now() >= due.started_at
                + (due.due_at - due.started_at) * (SELECT value::float8 FROM gridgeo.deployment
                                                    WHERE key = 'deadline_warning_share'),
                false),
       NULL::text,
       i.department_code, d.name, NULL::text,
       NULL::text, i.cohandling_departments,
       NULL::text,
       NULL::text, NULL::text,
       c.police_response_target IS NOT NULL, i.arrived_at,
       round(extract(epoch FROM i.arrived_at - i.dispatched_at) / 60.0, 1),
       i.arrived_at - i.dispatched_at <= c.police_response_target,
       gridgeo.incident_escalation_level(i.id)
  FROM gridgeo.incidents i
  JOIN gridgeo.incident_categories c ON c.code = i.category_code
  LEFT JOIN gridgeo.departments d ON d.code = i.department_code
  LEFT JOIN LATERAL gridgeo.incident_due(i.state, i.reported_at, i.accepted_at, i.colour,
                                         i.grid_code, i.category_code) due ON true
 WHERE NOT (SELECT gridgeo.request_staff());

CREATE OR REPLACE VIEW gridgeo.inspections_view AS
SELECT i.id, i.scan_uuid, i.target_collection, i.target_code, i.inspector_id,
       s.name AS inspector_name, i.scanned_at, i.received_at, i.accuracy_m, i.result,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN i.note
            ELSE gridgeo.scrub_text(i.note) END AS note,
       i.photos, i.flagged, i.flag_reason, i.grid_code, i.dedicated_grid_code, i.geom,
       i.inspector, i.distance_m, i.incident_id, inc.case_no AS incident_case_no
  FROM gridgeo.inspections i
  LEFT JOIN gridgeo.staff s ON s.id = i.inspector_id
  LEFT JOIN gridgeo.incidents inc ON inc.id = i.incident_id;

-- Who moved a case is for staff: the public sees states on the incident itself.
CREATE OR REPLACE VIEW gridgeo.incident_events_view AS
SELECT e.id, e.incident_id, e.case_no, e.from_state, e.to_state, e.actor,
       CASE WHEN (SELECT gridgeo.request_reads_free_text()) THEN e.note
            ELSE gridgeo.scrub_text(e.note) END AS note,
       e.at, i.category_code, i.colour, i.grid_code, i.geom, e.kind, e.detail
  FROM gridgeo.incident_events e
  JOIN gridgeo.incidents i ON i.id = e.incident_id
 WHERE (SELECT gridgeo.request_staff());

-- ---------------------------------------------------------------- reads of personal data
-- Who read which person's data, when: one row per answer that carried personal fields.
-- Written on the primary (the app's write pool), append-only like the audit log.
CREATE TABLE gridgeo.personal_data_reads (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor      text NOT NULL,
    staff_no   text,
    roles      text,
    collection text NOT NULL,
    item_ids   text[] NOT NULL,
    fields     text[] NOT NULL,
    path       text
);
CREATE INDEX personal_data_reads_actor_idx ON gridgeo.personal_data_reads (actor, at);
CREATE INDEX personal_data_reads_items_idx ON gridgeo.personal_data_reads
    USING gin (item_ids);
ALTER TABLE gridgeo.personal_data_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE gridgeo.personal_data_reads FORCE ROW LEVEL SECURITY;
CREATE POLICY personal_data_reads_append ON gridgeo.personal_data_reads FOR INSERT
    WITH CHECK (true);
CREATE POLICY personal_data_reads_maintenance ON gridgeo.personal_data_reads FOR ALL
    USING ((SELECT gridgeo.request_trusted())) WITH CHECK ((SELECT gridgeo.request_trusted()));

-- ---------------------------------------------------------------- retention
-- Personal data of cases final (closed, invalid, duplicate) for longer than ``retention``:
-- reporter fields emptied, free text and the history's notes scrubbed. Answers how many
-- incidents changed. `gridgeo privacy anonymise` runs it.
CREATE FUNCTION gridgeo.anonymise_final_cases(retention interval) RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    changed integer;
BEGIN
    WITH due AS (
        SELECT id FROM gridgeo.incidents
         WHERE gridgeo.incident_state_is_final(state)
           AND coalesce(closed_at, state_changed_at, updated_at) < now() - retention
           AND (reporter_name IS NOT NULL OR reporter_phone IS NOT NULL
                OR reporter_id_number IS NOT NULL
                OR description IS DISTINCT FROM gridgeo.scrub_text(description)
                OR title IS DISTINCT FROM gridgeo.scrub_text(title)
                OR state_note IS DISTINCT FROM gridgeo.scrub_text(state_note))
    ), done AS (
        UPDATE gridgeo.incidents i
           SET reporter_name = NULL, reporter_phone = NULL, reporter_id_number = NULL,
               title = gridgeo.scrub_text(i.title),
               description = gridgeo.scrub_text(i.description),
               state_note = gridgeo.scrub_text(i.state_note)
          FROM due WHERE i.id = due.id
        RETURNING i.id
    )
    SELECT count(*) INTO changed FROM done;
    UPDATE gridgeo.incident_events e SET note = gridgeo.scrub_text(e.note)
      FROM gridgeo.incidents i
     WHERE i.id = e.incident_id AND gridgeo.incident_state_is_final(i.state)
       AND coalesce(i.closed_at, i.state_changed_at, i.updated_at) < now() - retention
       AND e.note IS DISTINCT FROM gridgeo.scrub_text(e.note);
    RETURN changed;
END $$;

-- QGIS editors read incidents_view and the others through these functions, which read
-- only tables they are granted already; the read log is never theirs.
INSERT INTO gridgeo.editor_grants (relation, mode) VALUES ('personal_data_reads', 'never')
    ON CONFLICT (relation) DO NOTHING;
SELECT gridgeo.grant_editors();
