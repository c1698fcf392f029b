-- Background jobs (federation sync and reconcile, and the mail sender to come) run in one process
-- at a time when several `serve` processes share a database: the process holding a job's lease
-- runs it and renews the lease; when the holder dies, the lease runs out and another takes over.

CREATE TABLE job_leases (
    job TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
