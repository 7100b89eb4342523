-- requires: jobs/001
-- Periodic work (escalation sweeps, due-list reminders) run exactly once per period across
-- every scheduler process and host: a scheduler claims (task, period) by inserting this
-- row in the same transaction as the task's work. A second scheduler's insert waits on the
-- primary key until the first commits and then finds the row (nothing to do), or, if the
-- first rolled back (the task failed), claims the period itself.
CREATE TABLE gridgeo.scheduled_runs (
    task         text NOT NULL,
    period_start timestamptz NOT NULL,
    runner       text NOT NULL,  -- host and process that ran it
    started      timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished     timestamptz,
    outcome      text,
    PRIMARY KEY (task, period_start)
);
