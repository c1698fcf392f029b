-- Identities, tokens, issuers, contact persons, and an append-only, hash-chained audit trail.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    alg TEXT NOT NULL CHECK (alg IN ('EdDSA')),
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE issued_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('municipality', 'coordinator', 'admin')),
    organisation_id INTEGER REFERENCES organisations (id),
    scope TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    revoked_at TEXT NOT NULL,
    reason TEXT
);

CREATE TABLE issuers (
    id INTEGER PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL UNIQUE CHECK (length(issuer) > 0),
    jwks_url TEXT NOT NULL CHECK (jwks_url LIKE 'http://%' OR jwks_url LIKE 'https://%'),
    audience TEXT NOT NULL CHECK (length(audience) > 0),
    algorithms TEXT NOT NULL,
    role_claim TEXT NOT NULL,
    organisation_claim TEXT NOT NULL,
    scope_claim TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY NOT NULL,
    organisation_id INTEGER REFERENCES organisations (id),
    project_id INTEGER REFERENCES projects (id),
    name TEXT NOT NULL CHECK (length(name) > 0),
    function TEXT,
    email TEXT CHECK (email IS NULL OR email LIKE '%_@_%'),
    phone TEXT,
    created_at TEXT NOT NULL,
    CHECK (organisation_id IS NOT NULL OR project_id IS NOT NULL)
);
CREATE INDEX contacts_org ON contacts (organisation_id);
CREATE INDEX contacts_project ON contacts (project_id);

-- The change log gains the actor's role, organisation and issuer, the outcome (denied attempts are
-- recorded too), a flag for entries about personal data, and the hash chain.
CREATE TABLE change_log_new (
    id INTEGER PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL DEFAULT 'system',
    actor_organisation_id INTEGER,
    actor_issuer TEXT,
    action TEXT NOT NULL CHECK (action IN ('CREATE', 'UPDATE', 'DELETE', 'IMPORT')),
    outcome TEXT NOT NULL DEFAULT 'APPLIED' CHECK (outcome IN ('APPLIED', 'DENIED')),
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    project_id INTEGER REFERENCES projects (id),
    summary TEXT NOT NULL,
    changes TEXT NOT NULL,
    personal BOOLEAN NOT NULL DEFAULT FALSE,
    prev_hash TEXT,
    hash TEXT
);
INSERT INTO change_log_new (id, at, actor, action, entity_type, entity_id, project_id, summary, changes)
    SELECT id, at, actor, action, entity_type, entity_id, project_id, summary, changes FROM change_log;
DROP TABLE change_log;
ALTER TABLE change_log_new RENAME TO change_log;
CREATE INDEX change_log_at ON change_log (at);
CREATE INDEX change_log_project ON change_log (project_id);

-- The head of the hash chain; writers take it in their transaction, so the chain never forks.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_hash) VALUES (1, '');

-- Append-only: a sealed entry (one with its hash) can be neither changed nor deleted.
CREATE TRIGGER change_log_no_update BEFORE UPDATE ON change_log WHEN OLD.hash IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
CREATE TRIGGER change_log_no_delete BEFORE DELETE ON change_log
BEGIN
    SELECT RAISE(ABORT, 'change_log is append-only');
END;
