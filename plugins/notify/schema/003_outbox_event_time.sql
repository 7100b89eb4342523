-- requires: notify/002
-- Incident events become partitioned by month (core/015, docs/scaling.md#partitioned-history),
-- and a foreign key into a partitioned table must name its whole primary key (id, at). This
-- step, which core/015 runs after, lets go of the events table's single-column key and row
-- type: the outbox keeps the event's time beside its id (notify/004 references both once
-- the table is partitioned), and the payload is built from the event as jsonb, so no
-- function is typed with the row of the table being replaced.
ALTER TABLE gridgeo.notify_outbox ADD COLUMN event_at timestamptz;
UPDATE gridgeo.notify_outbox o SET event_at = e.at
  FROM gridgeo.incident_events e WHERE e.id = o.event_id;
ALTER TABLE gridgeo.notify_outbox ALTER COLUMN event_at SET NOT NULL;
ALTER TABLE gridgeo.notify_outbox DROP CONSTRAINT notify_outbox_event_id_fkey;

DROP FUNCTION gridgeo.notify_event_payload(gridgeo.incident_events, gridgeo.incidents);
-- The event as sent (as notify/001's): no reporter data, free text scrubbed.
CREATE FUNCTION gridgeo.notify_event_payload(e jsonb, i gridgeo.incidents)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'event_id', e -> 'id', 'kind', e -> 'kind', 'at', e -> 'at', 'case_no', e -> 'case_no',
        'incident_id', e -> 'incident_id', 'from_state', e -> 'from_state',
        'to_state', e -> 'to_state', 'actor', e -> 'actor', 'staff_no', e -> 'staff_no',
        'note', gridgeo.scrub_text(e ->> 'note'), 'detail', e -> 'detail',
        'category_code', i.category_code, 'colour', i.colour, 'grid_code', i.grid_code,
        'department_code', i.department_code, 'title', gridgeo.scrub_text(i.title)) $$;

-- notify/002's trigger function, writing the event's time and passing the event as jsonb.
CREATE OR REPLACE FUNCTION gridgeo.notify_incident_event() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    caller_mode text := current_setting('gridgeo.maintenance', true);
    incident gridgeo.incidents;
BEGIN
    -- Most events go nowhere (no subscription, nobody with an address told): no row.
    IF NOT EXISTS (SELECT 1 FROM gridgeo.notify_subscriptions)
       AND NEW.kind NOT IN ('warning', 'escalation') THEN
        RETURN NULL;
    END IF;
    -- The case as it is, whoever wrote the event (a hotline that may not read it back, a
    -- scheduler): the outbox is the system's record, not the caller's answer.
    PERFORM set_config('gridgeo.maintenance', 'on', true);
    SELECT * INTO incident FROM gridgeo.incidents WHERE id = NEW.incident_id;
    PERFORM set_config('gridgeo.maintenance', coalesce(caller_mode, ''), true);

    WITH told AS (
        SELECT t ->> 'kind' AS kind, t ->> 'code' AS code
          FROM jsonb_array_elements(coalesce(NEW.detail -> 'told', '[]')) t
         WHERE NEW.kind IN ('warning', 'escalation')),
    targets AS (
        SELECT s.channel, s.id AS subscription_id, NULL::text AS staff_no,
               NULL::text AS department_code
          FROM gridgeo.notify_subscriptions s
         WHERE (s.event_kinds = '{}' OR NEW.kind = ANY (s.event_kinds))
           AND (s.categories = '{}' OR incident.category_code = ANY (s.categories))
           AND (s.colours = '{}' OR incident.colour = ANY (s.colours))
        UNION ALL
        -- Warnings and escalations go by e-mail to each staff member told with an address,
        SELECT 'email', NULL, s.staff_no, NULL
          FROM told t JOIN gridgeo.staff s ON s.staff_no = t.code
         WHERE t.kind = 'staff' AND s.active AND s.email IS NOT NULL
        UNION ALL
        -- and to each department told with an address.
        SELECT 'email', NULL, NULL, d.code
          FROM told t JOIN gridgeo.departments d ON d.code = t.code
         WHERE t.kind = 'department' AND d.email IS NOT NULL),
    outbox AS (
        INSERT INTO gridgeo.notify_outbox (event_id, event_at, incident_id, kind, payload)
        SELECT NEW.id, NEW.at, NEW.incident_id, NEW.kind,
               gridgeo.notify_event_payload(to_jsonb(NEW), incident)
         WHERE EXISTS (SELECT 1 FROM targets)
        RETURNING id)
    INSERT INTO gridgeo.notify_deliveries (outbox_id, channel, subscription_id,
                                           recipient_staff_no, recipient_department_code)
    SELECT o.id, t.channel, t.subscription_id, t.staff_no, t.department_code
      FROM outbox o, targets t;
    RETURN NULL;
END $$;
