-- Sign-in for the web pages: one-time sign-in links a coordinator creates for a Kommune, and the
-- sessions of signed-in people. Only hashes of the link codes and session cookies are stored.

CREATE TABLE sign_in_links (
    id TEXT PRIMARY KEY NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('municipality', 'coordinator', 'admin')),
    organisation_id INTEGER REFERENCES organisations (id),
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at TEXT
);
CREATE INDEX sign_in_links_organisation ON sign_in_links (organisation_id);

CREATE TABLE web_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    csrf TEXT NOT NULL,
    subject TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('municipality', 'coordinator', 'admin')),
    organisation_id INTEGER REFERENCES organisations (id),
    scope TEXT NOT NULL,
    issuer TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_organisation ON web_sessions (organisation_id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);
