-- requires: jobs/003
-- OGC API Processes callbacks: the subscriber an async execution named (successUri,
-- inProgressUri, failedUri), called by the worker that runs the job. Each URL was checked
-- against the allow-list of destinations when the job was accepted, and is again when called.
ALTER TABLE gridgeo.jobs ADD COLUMN subscriber jsonb;
