-- The foreign keys that did not lead an index yet (a test checks that every one does).
CREATE INDEX calls_issuer ON calls (issuer_id);
CREATE INDEX events_location ON events (location_id);
CREATE INDEX events_organiser ON events (organiser_id);
CREATE INDEX issued_tokens_organisation ON issued_tokens (organisation_id);
CREATE INDEX newsletter_definitions_topic_field ON newsletter_definitions (topic_field_slug);
CREATE INDEX ozg_services_life_situation ON ozg_services (life_situation_id);
CREATE INDEX project_platforms_platform ON project_platforms (platform_id);
CREATE INDEX topic_field_leads_land ON topic_field_leads (land_code);
