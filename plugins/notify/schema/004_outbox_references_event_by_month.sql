-- requires: notify/003, core/015
-- The outbox references its event by the partitioned table's whole key (id, at), so the
-- guarantee of notify/001 holds again: no outbox row without its event, and deleting an
-- event (privacy erasure) takes its outbox rows and deliveries with it.
ALTER TABLE gridgeo.notify_outbox ADD CONSTRAINT notify_outbox_event_fkey
    FOREIGN KEY (event_id, event_at) REFERENCES gridgeo.incident_events (id, at)
    ON DELETE CASCADE;
