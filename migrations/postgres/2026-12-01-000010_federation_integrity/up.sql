-- Tombstones: the version at which a peer deleted one of its records, so that replaying an older
-- signed upsert of it (from a reconcile, a stale cache or a hostile peer) does not bring it back.
CREATE TABLE federated_tombstones (
    global_id TEXT PRIMARY KEY NOT NULL,
    origin TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    version BIGINT NOT NULL,
    deleted_at TEXT NOT NULL
);
CREATE INDEX federated_tombstones_origin ON federated_tombstones (origin);

-- A stable reason code for a peer's last error (BAD_SIGNATURE, REFUSED_ENTRY, TIMEOUT, …): shown to
-- everyone with a fixed message, while `last_error` keeps the detail for admins.
ALTER TABLE peers ADD COLUMN last_error_code TEXT;
