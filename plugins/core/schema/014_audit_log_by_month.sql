-- requires: core/013
-- The audit log, partitioned by month on ``at`` (core/013): primary key (id, at). Nothing
-- references it; its append-only policies (core/003) are on the parent and every
-- partition, so a query through either obeys them.
SELECT gridgeo.partition_by_month('audit_log', 'at');
SELECT gridgeo.grant_editors();
