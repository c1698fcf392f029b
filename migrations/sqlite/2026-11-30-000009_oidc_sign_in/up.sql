-- Sign-in to the web pages with OpenID Connect (authorization code flow with PKCE) at an issuer
-- whose tokens the API accepts already: its client registration, and the sign-ins under way.

ALTER TABLE issuers ADD COLUMN web_client_id TEXT;
ALTER TABLE issuers ADD COLUMN web_client_secret TEXT;
ALTER TABLE issuers ADD COLUMN display_name TEXT;

CREATE TABLE oidc_logins (
    id TEXT PRIMARY KEY NOT NULL,
    issuer TEXT NOT NULL,
    verifier TEXT NOT NULL,
    nonce TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);
