-- Federation: every record has one home. `origin` is NULL for records homed here and the peer's
-- instance id for replicated ones, which are read-only here.
ALTER TABLE organisations ADD COLUMN origin TEXT;
ALTER TABLE projects ADD COLUMN origin TEXT;
ALTER TABLE participations ADD COLUMN origin TEXT;
ALTER TABLE calls ADD COLUMN origin TEXT;
ALTER TABLE reuse_declarations ADD COLUMN origin TEXT;
CREATE INDEX projects_origin ON projects (origin);
CREATE INDEX participations_origin ON participations (origin);
CREATE INDEX calls_origin ON calls (origin);
CREATE INDEX reuse_declarations_origin ON reuse_declarations (origin);

-- This instance: its id (fixed at first start) and the Ed25519 key its feed entries are signed with.
CREATE TABLE instance_identity (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    instance_id TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Registries this one replicates from (an allow-list: only these, with their pinned keys).
CREATE TABLE peers (
    id SERIAL PRIMARY KEY,
    instance_id TEXT NOT NULL UNIQUE,
    base_url TEXT NOT NULL,
    public_key TEXT NOT NULL,
    feed_cursor BIGINT NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    open_until TEXT,
    imported BIGINT NOT NULL DEFAULT 0,
    rejected_pages BIGINT NOT NULL DEFAULT 0,
    last_reconcile_at TEXT,
    created_at TEXT NOT NULL
);

-- Replicated records: their global id, local row, the home's version, and whether the home still
-- publishes them.
CREATE TABLE federated_records (
    global_id TEXT PRIMARY KEY NOT NULL,
    origin TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    local_id INTEGER NOT NULL,
    version BIGINT NOT NULL,
    content_hash TEXT NOT NULL,
    orphaned_at TEXT,
    imported_at TEXT NOT NULL
);
CREATE UNIQUE INDEX federated_records_local ON federated_records (entity_type, local_id);
CREATE INDEX federated_records_origin ON federated_records (origin);
