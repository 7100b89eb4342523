-- requires: notify/001
-- Departments an escalation tells are reached too (issue #16): an office's e-mail address
-- (its duty mailbox, not a person's: not personal data) gets its own delivery, like a
-- staff member told. Deliveries name the department by code; the address is read when sent.
ALTER TABLE gridgeo.departments
    ADD COLUMN email text CHECK (email ~ '^[^@\s]+@[^@\s]+$');

ALTER TABLE gridgeo.notify_deliveries
    ADD COLUMN recipient_department_code text;

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
        INSERT INTO gridgeo.notify_outbox (event_id, incident_id, kind, payload)
        SELECT NEW.id, NEW.incident_id, NEW.kind, gridgeo.notify_event_payload(NEW, incident)
         WHERE EXISTS (SELECT 1 FROM targets)
        RETURNING id)
    INSERT INTO gridgeo.notify_deliveries (outbox_id, channel, subscription_id,
                                           recipient_staff_no, recipient_department_code)
    SELECT o.id, t.channel, t.subscription_id, t.staff_no, t.department_code
      FROM outbox o, targets t;
    RETURN NULL;
END $$;
