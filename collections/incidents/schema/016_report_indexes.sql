-- requires: incidents/015
-- The incident report (通报, plugins/incidents/report.py) reads one period: incidents
-- reported, closed or dispatched in it, and every case overdue now. Only reported_at had
-- an index, so the closures, the police responses and the overdue list each read every
-- incident ever reported: a report grew with the whole history instead of with its period
-- (scripts/bench_scale.py). Closed and dispatched times are NULL on most rows of a busy
-- week and on none of history's, hence partial indexes; the open cases are few against
-- the history, and "overdue" is only ever true of them.
CREATE INDEX incidents_closed_idx ON gridgeo.incidents (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX incidents_dispatched_idx ON gridgeo.incidents (dispatched_at)
    WHERE dispatched_at IS NOT NULL;
CREATE INDEX incidents_open_idx ON gridgeo.incidents (id)
    WHERE state NOT IN ('closed', 'invalid', 'duplicate');
