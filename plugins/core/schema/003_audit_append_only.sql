-- requires: core/002
-- The audit log is append-only for requests: the trigger's insert passes, but no request
-- transaction may read, change or delete it (maintenance paths may).
ALTER TABLE gridgeo.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE gridgeo.audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY audit_log_append ON gridgeo.audit_log FOR INSERT WITH CHECK (true);
CREATE POLICY audit_log_maintenance ON gridgeo.audit_log FOR ALL
    USING ((SELECT gridgeo.request_trusted())) WITH CHECK ((SELECT gridgeo.request_trusted()));
