DROP TRIGGER change_log_no_truncate ON change_log;
DROP TRIGGER change_log_append_only ON change_log;
DROP FUNCTION change_log_append_only();
DROP TABLE audit_head;
DELETE FROM change_log WHERE outcome = 'DENIED';
ALTER TABLE change_log
    DROP COLUMN actor_role,
    DROP COLUMN actor_organisation_id,
    DROP COLUMN actor_issuer,
    DROP COLUMN outcome,
    DROP COLUMN personal,
    DROP COLUMN prev_hash,
    DROP COLUMN hash;
DROP TABLE contacts;
DROP TABLE issuers;
DROP TABLE revoked_tokens;
DROP TABLE issued_tokens;
DROP TABLE signing_keys;
