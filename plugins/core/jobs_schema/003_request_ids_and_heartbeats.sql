-- Operations: the request that queued a job (its X-Request-ID, also in the access log),
-- and the job workers' heartbeats (/readyz reports whether any worker is alive).
ALTER TABLE gridgeo.jobs ADD COLUMN request_id text;

CREATE TABLE gridgeo.job_workers (
    worker_id  text PRIMARY KEY,  -- host:pid
    host       text NOT NULL,
    pid        integer NOT NULL,
    started    timestamptz NOT NULL DEFAULT now(),
    heartbeat  timestamptz NOT NULL DEFAULT now()
);
