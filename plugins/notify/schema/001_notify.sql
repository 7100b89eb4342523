-- requires: incidents/011, core/012
-- Notifications (docs/field-operations.md#notifications): a transactional outbox. Every
-- incident event (a transition, dispatch, colour change, warning, escalation) that goes
-- somewhere is copied to gridgeo.notify_outbox by a trigger, with one delivery row per
-- destination, in the transaction that writes the event: an event that commits is never lost, one that rolls
-- back is never sent. The scheduler's delivery sweep claims due deliveries (FOR UPDATE
-- SKIP LOCKED) and hands each to the channel plugins (gridgeo_deliver_event).

-- Recipients' channels are on their staff records; personal data (docs/security.md).
ALTER TABLE gridgeo.staff
    ADD COLUMN email text CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    ADD COLUMN wecom_id text,     -- 企业微信 userid, @-mentioned in group-robot messages
    ADD COLUMN dingtalk_id text;  -- 钉钉 userId, likewise

-- Subscriptions are data, managed by admins (/notifications/subscriptions). An empty filter
-- array means any.
CREATE TABLE gridgeo.notify_subscriptions (
    id          serial PRIMARY KEY,
    channel     text NOT NULL CHECK (channel ~ '^[a-z_]+$'),
    url         text NOT NULL,
    secret      text,  -- HMAC key (webhook) or robot signing secret; never answered
    event_kinds text[] NOT NULL DEFAULT '{}',
    categories  text[] NOT NULL DEFAULT '{}',
    colours     text[] NOT NULL DEFAULT '{}',
    description text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by  text NOT NULL DEFAULT gridgeo.current_actor()
);

CREATE TABLE gridgeo.notify_outbox (
    id          bigserial PRIMARY KEY,
    event_id    bigint NOT NULL REFERENCES gridgeo.incident_events (id) ON DELETE CASCADE,
    incident_id integer NOT NULL,
    kind        text NOT NULL,
    payload     jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX notify_outbox_event_idx ON gridgeo.notify_outbox (event_id);

-- One row per (event, destination): the delivery log. `attempts` counts tries; the last
-- one's status code and error sentence stay; `given_up` after the last try.
CREATE TABLE gridgeo.notify_deliveries (
    id                 bigserial PRIMARY KEY,
    outbox_id          bigint NOT NULL REFERENCES gridgeo.notify_outbox (id) ON DELETE CASCADE,
    channel            text NOT NULL,
    subscription_id    integer REFERENCES gridgeo.notify_subscriptions (id) ON DELETE SET NULL,
    recipient_staff_no text,  -- e-mail: the staff member told (the address is read when sent)
    state              text NOT NULL DEFAULT 'pending'
                       CHECK (state IN ('pending', 'delivered', 'given_up')),
    attempts           integer NOT NULL DEFAULT 0,
    next_try_at        timestamptz NOT NULL DEFAULT clock_timestamp(),
    status_code        integer,
    error              text,
    delivered_at       timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX notify_deliveries_due_idx ON gridgeo.notify_deliveries (next_try_at)
    WHERE state = 'pending';
CREATE INDEX notify_deliveries_subscription_idx ON gridgeo.notify_deliveries (subscription_id);

-- The event as sent: no reporter data, free text scrubbed (receivers are integrations, not
-- people with personal-data rights); who was told is staff numbers and names (contact data).
CREATE FUNCTION gridgeo.notify_event_payload(e gridgeo.incident_events, i gridgeo.incidents)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'event_id', e.id, 'kind', e.kind, 'at', e.at, 'case_no', e.case_no,
        'incident_id', e.incident_id, 'from_state', e.from_state, 'to_state', e.to_state,
        'actor', e.actor, 'staff_no', e.staff_no, 'note', gridgeo.scrub_text(e.note),
        'detail', e.detail, 'category_code', i.category_code, 'colour', i.colour,
        'grid_code', i.grid_code, 'department_code', i.department_code,
        'title', gridgeo.scrub_text(i.title)) $$;

CREATE FUNCTION gridgeo.notify_incident_event() RETURNS trigger
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

    WITH targets AS (
        SELECT s.channel, s.id AS subscription_id, NULL::text AS staff_no
          FROM gridgeo.notify_subscriptions s
         WHERE (s.event_kinds = '{}' OR NEW.kind = ANY (s.event_kinds))
           AND (s.categories = '{}' OR incident.category_code = ANY (s.categories))
           AND (s.colours = '{}' OR incident.colour = ANY (s.colours))
        UNION ALL
        -- Warnings and escalations go by e-mail to each staff member told with an address.
        SELECT 'email', NULL, s.staff_no
          FROM jsonb_array_elements(coalesce(NEW.detail -> 'told', '[]')) t
          JOIN gridgeo.staff s ON s.staff_no = t ->> 'code'
         WHERE NEW.kind IN ('warning', 'escalation') AND t ->> 'kind' = 'staff'
           AND s.active AND s.email IS NOT NULL),
    outbox AS (
        INSERT INTO gridgeo.notify_outbox (event_id, incident_id, kind, payload)
        SELECT NEW.id, NEW.incident_id, NEW.kind, gridgeo.notify_event_payload(NEW, incident)
         WHERE EXISTS (SELECT 1 FROM targets)
        RETURNING id)
    INSERT INTO gridgeo.notify_deliveries (outbox_id, channel, subscription_id,
                                           recipient_staff_no)
    SELECT o.id, t.channel, t.subscription_id, t.staff_no FROM outbox o, targets t;
    RETURN NULL;
END $$;

CREATE TRIGGER zz_notify AFTER INSERT ON gridgeo.incident_events
    FOR EACH ROW EXECUTE FUNCTION gridgeo.notify_incident_event();

-- Secrets and the log are for admins through the API, never for QGIS editors.
INSERT INTO gridgeo.editor_grants (relation, mode) VALUES
    ('notify_subscriptions', 'never'), ('notify_outbox', 'never'),
    ('notify_deliveries', 'never')
    ON CONFLICT (relation) DO NOTHING;
SELECT gridgeo.grant_editors();
