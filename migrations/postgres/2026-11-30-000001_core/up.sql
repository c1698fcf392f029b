-- Registry core schema (PostgreSQL). Keep in step with ../../sqlite/…/up.sql.
CREATE TABLE lands (
    code TEXT PRIMARY KEY NOT NULL CHECK (code ~ '^DE-[A-Z][A-Z]$'),
    ags_prefix TEXT NOT NULL UNIQUE CHECK (ags_prefix ~ '^[0-9][0-9]$'),
    short_code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE CHECK (length(name) > 0)
);

CREATE TABLE topic_fields (
    slug TEXT PRIMARY KEY NOT NULL CHECK (length(slug) > 0 AND slug ~ '^[a-z0-9_]*$'),
    name TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    position INTEGER NOT NULL
);

CREATE TABLE topic_field_leads (
    id SERIAL PRIMARY KEY,
    topic_field_slug TEXT NOT NULL REFERENCES topic_fields (slug),
    land_code TEXT REFERENCES lands (code),
    federal_ministry TEXT,
    source_note TEXT NOT NULL CHECK (length(source_note) > 0),
    CHECK (land_code IS NOT NULL OR federal_ministry IS NOT NULL),
    UNIQUE (topic_field_slug, land_code, federal_ministry)
);

CREATE TABLE life_situations (
    id SERIAL PRIMARY KEY,
    topic_field_slug TEXT NOT NULL REFERENCES topic_fields (slug),
    name TEXT NOT NULL CHECK (length(name) > 0),
    UNIQUE (topic_field_slug, name)
);

CREATE TABLE ozg_services (
    ozg_id TEXT PRIMARY KEY NOT NULL CHECK (length(ozg_id) = 5 AND ozg_id ~ '^[0-9]*$'),
    name TEXT NOT NULL CHECK (length(name) > 0),
    topic_field_slug TEXT NOT NULL REFERENCES topic_fields (slug),
    life_situation_id INTEGER NOT NULL REFERENCES life_situations (id),
    federal_priority TEXT NOT NULL DEFAULT 'UNSPECIFIED'
        CHECK (federal_priority IN ('UNSPECIFIED', 'LOW', 'MEDIUM', 'HIGH', 'DEPRIORITISED')),
    priority_note TEXT
);
CREATE INDEX ozg_services_topic_field ON ozg_services (topic_field_slug);

CREATE TABLE leika_services (
    id SERIAL PRIMARY KEY,
    leika_key TEXT UNIQUE CHECK (leika_key IS NULL OR (length(leika_key) = 14 AND leika_key ~ '^[0-9]*$')),
    name TEXT NOT NULL CHECK (length(name) > 0),
    ozg_id TEXT REFERENCES ozg_services (ozg_id),
    typisierung TEXT
);
CREATE INDEX leika_services_ozg ON leika_services (ozg_id);

CREATE TABLE organisations (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 80 AND slug ~ '^[a-z0-9-]*$'),
    name TEXT NOT NULL CHECK (length(name) > 0),
    short_name TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('LAND', 'STATE_MINISTRY', 'FEDERAL_MINISTRY', 'MUNICIPALITY', 'DISTRICT',
        'IT_SERVICE_PROVIDER', 'ASSOCIATION', 'VENDOR', 'DATA_PROTECTION_AUTHORITY', 'OFFICE', 'OTHER')),
    land_code TEXT REFERENCES lands (code),
    ags TEXT UNIQUE CHECK (ags IS NULL OR (length(ags) = 8 AND ags ~ '^[0-9]*$')),
    ars TEXT UNIQUE CHECK (ars IS NULL OR (length(ars) = 12 AND ars ~ '^[0-9]*$')),
    district_key TEXT CHECK (district_key IS NULL OR (length(district_key) = 5 AND district_key ~ '^[0-9]*$')),
    parent_id INTEGER REFERENCES organisations (id),
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK (ars IS NULL OR ags IS NULL OR (substr(ars, 1, 5) = substr(ags, 1, 5) AND substr(ars, 10, 3) = substr(ags, 6, 3))),
    CHECK (district_key IS NULL OR ags IS NULL OR substr(ags, 1, 5) = district_key),
    CHECK (parent_id IS NULL OR parent_id <> id)
);
CREATE INDEX organisations_parent ON organisations (parent_id);
CREATE INDEX organisations_land ON organisations (land_code);

CREATE TABLE platforms (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 80 AND slug ~ '^[a-z0-9-]*$'),
    name TEXT NOT NULL CHECK (length(name) > 0),
    kind TEXT NOT NULL CHECK (kind IN ('PORTAL', 'TRANSPORT', 'DATA_STANDARD', 'FORM_TECHNOLOGY', 'STANDARDISATION_FORMAT', 'METHOD')),
    operator_id INTEGER REFERENCES organisations (id),
    note TEXT
);

CREATE TABLE projects (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 80 AND slug ~ '^[a-z0-9-]*$'),
    title TEXT NOT NULL CHECK (length(title) > 0),
    summary TEXT,
    lead_land_code TEXT REFERENCES lands (code),
    delivery_model TEXT NOT NULL CHECK (delivery_model IN ('EFA_DEVELOPED_HERE', 'REUSE_OF_OTHER_EFA', 'LAND_SOLUTION', 'MUNICIPAL_SOLUTION', 'UNDECIDED')),
    phase TEXT NOT NULL CHECK (phase IN ('PREPARATION', 'DIGITALISATION_LAB', 'CONCEPTION', 'IMPLEMENTATION', 'PILOT',
        'ROLLOUT_STATE', 'ROLLOUT_NATIONWIDE', 'OPERATION', 'ON_HOLD', 'DISCONTINUED', 'MERGED')),
    phase_before_hold TEXT CHECK (phase_before_hold IS NULL OR phase_before_hold IN ('PREPARATION', 'DIGITALISATION_LAB', 'CONCEPTION', 'IMPLEMENTATION', 'PILOT', 'ROLLOUT_STATE', 'ROLLOUT_NATIONWIDE', 'OPERATION', 'ON_HOLD', 'DISCONTINUED', 'MERGED')),
    status_note TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE project_services (
    project_id INTEGER NOT NULL REFERENCES projects (id),
    ozg_id TEXT NOT NULL REFERENCES ozg_services (ozg_id),
    position INTEGER NOT NULL,
    note TEXT,
    PRIMARY KEY (project_id, ozg_id)
);
CREATE INDEX project_services_ozg ON project_services (ozg_id);

CREATE TABLE project_platforms (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    platform_id INTEGER NOT NULL REFERENCES platforms (id),
    usage TEXT NOT NULL CHECK (usage IN ('HOSTS_APPLICATION', 'ENTRY_POINT', 'TRANSPORT', 'DATA_STANDARD', 'FORM_TECHNOLOGY', 'STANDARDISATION', 'METHOD')),
    note TEXT,
    UNIQUE (project_id, platform_id, usage)
);

CREATE TABLE project_fundings (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    source TEXT NOT NULL CHECK (length(source) > 0),
    instrument TEXT,
    status TEXT NOT NULL CHECK (status IN ('TO_CHECK', 'PREPARED', 'APPLIED', 'GRANTED', 'REJECTED')),
    funder_id INTEGER REFERENCES organisations (id),
    note TEXT
);

CREATE TABLE project_steps (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    position INTEGER NOT NULL CHECK (position > 0),
    title TEXT NOT NULL CHECK (length(title) > 0),
    description TEXT,
    status TEXT NOT NULL CHECK (status IN ('PLANNED', 'IN_PROGRESS', 'DONE')),
    UNIQUE (project_id, position)
);

CREATE TABLE milestones (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    title TEXT NOT NULL CHECK (length(title) > 0),
    phase TEXT CHECK (phase IS NULL OR phase IN ('PREPARATION', 'DIGITALISATION_LAB', 'CONCEPTION', 'IMPLEMENTATION', 'PILOT', 'ROLLOUT_STATE', 'ROLLOUT_NATIONWIDE', 'OPERATION', 'ON_HOLD', 'DISCONTINUED', 'MERGED')),
    planned TEXT CHECK (planned IS NULL OR (planned ~ '^[12][0-9][0-9][0-9]$' OR planned ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR planned ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR planned ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    actual TEXT CHECK (actual IS NULL OR (actual ~ '^[12][0-9][0-9][0-9]$' OR actual ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR actual ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR actual ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    UNIQUE (project_id, title)
);

CREATE TABLE project_relations (
    id SERIAL PRIMARY KEY,
    from_project_id INTEGER NOT NULL REFERENCES projects (id),
    to_project_id INTEGER NOT NULL REFERENCES projects (id),
    kind TEXT NOT NULL CHECK (kind IN ('MERGED_INTO', 'BUILDS_ON', 'REUSES')),
    note TEXT,
    UNIQUE (from_project_id, to_project_id, kind),
    CHECK (from_project_id <> to_project_id)
);
CREATE INDEX project_relations_to ON project_relations (to_project_id);

CREATE TABLE participations (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL CHECK (role IN ('PROJECT_LEAD', 'CLIENT', 'IMPLEMENTER', 'DEVELOPMENT_PARTNER', 'VENDOR', 'CORE_TEAM',
        'EXTENDED_TEAM', 'PILOT', 'MODEL_REGION', 'ADVISOR')),
    status TEXT NOT NULL CHECK (status IN ('REQUESTED', 'CONFIRMED', 'WITHDRAWN')),
    since TEXT CHECK (since IS NULL OR (since ~ '^[12][0-9][0-9][0-9]$' OR since ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR since ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR since ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    until TEXT CHECK (until IS NULL OR (until ~ '^[12][0-9][0-9][0-9]$' OR until ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR until ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR until ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, organisation_id, role)
);
CREATE INDEX participations_org ON participations (organisation_id);

CREATE TABLE calls (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    issuer_id INTEGER NOT NULL REFERENCES organisations (id),
    title TEXT NOT NULL CHECK (length(title) > 0),
    body TEXT NOT NULL,
    invites_reuse BOOLEAN NOT NULL DEFAULT FALSE,
    opened_on TEXT NOT NULL CHECK (opened_on ~ '^[12][0-9][0-9][0-9]$' OR opened_on ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR opened_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR opened_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$'),
    closes_on TEXT CHECK (closes_on IS NULL OR (closes_on ~ '^[12][0-9][0-9][0-9]$' OR closes_on ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR closes_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR closes_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    status TEXT NOT NULL CHECK (status IN ('OPEN', 'CLOSED')),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    UNIQUE (project_id, title)
);
CREATE INDEX calls_project ON calls (project_id);

CREATE TABLE call_roles (
    call_id INTEGER NOT NULL REFERENCES calls (id),
    role TEXT NOT NULL CHECK (role IN ('PROJECT_LEAD', 'CLIENT', 'IMPLEMENTER', 'DEVELOPMENT_PARTNER', 'VENDOR', 'CORE_TEAM',
        'EXTENDED_TEAM', 'PILOT', 'MODEL_REGION', 'ADVISOR')),
    organisation_kind TEXT,
    PRIMARY KEY (call_id, role)
);

CREATE TABLE reuse_declarations (
    id SERIAL PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects (id),
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    status TEXT NOT NULL CHECK (status IN ('INTEREST', 'NEGOTIATING', 'AGREED', 'ONBOARDING', 'LIVE', 'DECLINED', 'WITHDRAWN')),
    declared_on TEXT CHECK (declared_on IS NULL OR (declared_on ~ '^[12][0-9][0-9][0-9]$' OR declared_on ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR declared_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR declared_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    planned_live TEXT CHECK (planned_live IS NULL OR (planned_live ~ '^[12][0-9][0-9][0-9]$' OR planned_live ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR planned_live ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR planned_live ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    actual_live TEXT CHECK (actual_live IS NULL OR (actual_live ~ '^[12][0-9][0-9][0-9]$' OR actual_live ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR actual_live ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR actual_live ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$')),
    note TEXT,
    version INTEGER NOT NULL DEFAULT 1 CHECK (version > 0),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (project_id, organisation_id)
);
CREATE INDEX reuse_declarations_org ON reuse_declarations (organisation_id);

CREATE TABLE events (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL CHECK (length(title) > 0),
    kind TEXT NOT NULL CHECK (kind IN ('WORKSHOP', 'MEETING', 'DIGITALISATION_LAB', 'DECISION')),
    held_on TEXT NOT NULL CHECK (held_on ~ '^[12][0-9][0-9][0-9]$' OR held_on ~ '^[12][0-9][0-9][0-9]-Q[1-4]$' OR held_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]$' OR held_on ~ '^[12][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]$'),
    location_id INTEGER REFERENCES organisations (id),
    organiser_id INTEGER REFERENCES organisations (id),
    note TEXT
);

CREATE TABLE event_projects (
    event_id INTEGER NOT NULL REFERENCES events (id),
    project_id INTEGER NOT NULL REFERENCES projects (id),
    outcome TEXT,
    PRIMARY KEY (event_id, project_id)
);

CREATE TABLE change_log (
    id BIGSERIAL PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('CREATE', 'UPDATE', 'DELETE', 'IMPORT')),
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    project_id INTEGER REFERENCES projects (id),
    summary TEXT NOT NULL,
    changes TEXT NOT NULL
);
CREATE INDEX change_log_at ON change_log (at);
CREATE INDEX change_log_project ON change_log (project_id);
