-- requires: core/001
-- Idempotency-Key records (gridgeo/idempotency.py): the first answer to a create, kept so
-- that a retry with the same key gets that answer again instead of a second row. A record
-- is written in the create's own transaction: a committed create always has its record
-- and a record always its create. Records expire (GRIDGEO_IDEMPOTENCY_TTL_S) and later
-- requests purge them.
CREATE TABLE gridgeo.idempotency_keys (
    caller        text NOT NULL,   -- the caller's subject; '' for anonymous callers
    key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash  bytea NOT NULL,  -- SHA-256 of method, path and body
    status        integer,         -- the answer; set before the create commits
    headers       jsonb NOT NULL DEFAULT '{}',
    body          bytea,
    created       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_created_idx ON gridgeo.idempotency_keys (created);
