-- OGC API Processes jobs: queued by the web server, run by `gridgeo worker` processes,
-- so a long job survives a web worker restart and reports real progress.
CREATE TABLE gridgeo.jobs (
    job_id             uuid PRIMARY KEY,
    process_id         text NOT NULL,
    status             text NOT NULL CHECK (status IN ('accepted', 'running', 'successful',
                           'failed', 'dismissed')),
    message            text,
    progress           integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    inputs             jsonb,
    requested_outputs  jsonb,
    requested_response text,
    queued             boolean NOT NULL DEFAULT false,  -- async: for a worker to run
    identity           jsonb NOT NULL DEFAULT '{}',
    created            timestamptz NOT NULL DEFAULT now(),
    started            timestamptz,
    updated            timestamptz NOT NULL DEFAULT now(),
    finished           timestamptz,
    mimetype           text,
    result             bytea
);
CREATE INDEX jobs_queue_idx ON gridgeo.jobs (created) WHERE status = 'accepted' AND queued;
CREATE INDEX jobs_created_idx ON gridgeo.jobs (created DESC);
