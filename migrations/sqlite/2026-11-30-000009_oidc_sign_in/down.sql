DROP TABLE oidc_logins;
ALTER TABLE issuers DROP COLUMN display_name;
ALTER TABLE issuers DROP COLUMN web_client_secret;
ALTER TABLE issuers DROP COLUMN web_client_id;
