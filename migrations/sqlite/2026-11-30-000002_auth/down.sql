DROP TRIGGER change_log_no_delete;
DROP TRIGGER change_log_no_update;
DROP TABLE audit_head;
CREATE TABLE change_log_old (
    id INTEGER PRIMARY KEY NOT NULL,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('CREATE', 'UPDATE', 'DELETE', 'IMPORT')),
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    project_id INTEGER REFERENCES projects (id),
    summary TEXT NOT NULL,
    changes TEXT NOT NULL
);
INSERT INTO change_log_old SELECT id, at, actor, action, entity_type, entity_id, project_id, summary, changes
    FROM change_log WHERE outcome = 'APPLIED';
DROP TABLE change_log;
ALTER TABLE change_log_old RENAME TO change_log;
CREATE INDEX change_log_at ON change_log (at);
CREATE INDEX change_log_project ON change_log (project_id);
DROP TABLE contacts;
DROP TABLE issuers;
DROP TABLE revoked_tokens;
DROP TABLE issued_tokens;
DROP TABLE signing_keys;
