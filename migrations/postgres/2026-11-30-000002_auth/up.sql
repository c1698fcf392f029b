-- Identities, tokens, issuers, contact persons, and an append-only, hash-chained audit trail.

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL CHECK (alg IN ('EdDSA')),
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE issued_tokens (
    jti TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('municipality', 'coordinator', 'admin')),
    organisation_id INTEGER REFERENCES organisations (id),
    scope TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    revoked_at TEXT NOT NULL,
    reason TEXT
);

CREATE TABLE issuers (
    id SERIAL PRIMARY KEY,
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
    id SERIAL PRIMARY KEY,
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

ALTER TABLE change_log
    ADD COLUMN actor_role TEXT NOT NULL DEFAULT 'system',
    ADD COLUMN actor_organisation_id INTEGER,
    ADD COLUMN actor_issuer TEXT,
    ADD COLUMN outcome TEXT NOT NULL DEFAULT 'APPLIED' CHECK (outcome IN ('APPLIED', 'DENIED')),
    ADD COLUMN personal BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN prev_hash TEXT,
    ADD COLUMN hash TEXT;

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_hash) VALUES (1, '');

-- Append-only: a sealed entry (one with its hash) can be neither changed nor deleted, and the table
-- cannot be truncated.
CREATE FUNCTION change_log_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.hash IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'change_log is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER change_log_append_only BEFORE UPDATE OR DELETE ON change_log
    FOR EACH ROW EXECUTE FUNCTION change_log_append_only();
CREATE TRIGGER change_log_no_truncate BEFORE TRUNCATE ON change_log
    FOR EACH STATEMENT EXECUTE FUNCTION change_log_append_only();
