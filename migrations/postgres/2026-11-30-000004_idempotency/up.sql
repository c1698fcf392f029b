-- Answers to mutations sent with an Idempotency-Key, kept for 24 hours.
CREATE TABLE idempotency_keys (
    subject TEXT NOT NULL,
    key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
    request_hash TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('RUNNING', 'DONE')),
    response TEXT,
    created_at TEXT NOT NULL,
    PRIMARY KEY (subject, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
