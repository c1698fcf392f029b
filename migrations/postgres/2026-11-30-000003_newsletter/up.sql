-- Newsletter definitions, their published editions (stored unchanged) and subscribers.

CREATE TABLE newsletter_definitions (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 80 AND slug ~ '^[a-z0-9-]*$'),
    title TEXT NOT NULL CHECK (length(title) > 0),
    topic_field_slug TEXT NOT NULL REFERENCES topic_fields (slug),
    audience TEXT NOT NULL,
    created_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0)
);

CREATE TABLE newsletter_editions (
    id SERIAL PRIMARY KEY,
    definition_id INTEGER NOT NULL REFERENCES newsletter_definitions (id),
    number INTEGER NOT NULL CHECK (number > 0),
    published_at TEXT NOT NULL,
    since TEXT,
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 200),
    issue TEXT NOT NULL,
    body_html TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    body_text TEXT NOT NULL,
    UNIQUE (definition_id, number),
    UNIQUE (definition_id, idempotency_key)
);

CREATE TABLE newsletter_subscribers (
    id SERIAL PRIMARY KEY,
    definition_id INTEGER NOT NULL REFERENCES newsletter_definitions (id),
    email TEXT NOT NULL CHECK (email LIKE '%_@_%'),
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'CONFIRMED', 'UNSUBSCRIBED')),
    confirm_token TEXT NOT NULL UNIQUE,
    unsubscribe_token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    confirmed_at TEXT,
    UNIQUE (definition_id, email)
);
